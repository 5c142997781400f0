"""Who may talk to the bot and how much (issue J), through the real discord.py client against the fake
Discord: access lists by role, channel and category set with `/observer access`, admin roles, quotas with
a role override set with `/observer quota`, one friendly note per window, `/observer usage`, flood control."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Harness, start_harness
from tests.e2e.test_slash_commands import answer, ephemeral, sub
from tests.fakes.openai_server import FakeOpenAI


def group(group_name: str, command: str, /, **options: Any) -> list[dict[str, Any]]:
    """A subcommand of a subcommand group: `/observer <group_name> <command> …`."""
    return [{"name": group_name, "type": 2, "options": sub(command, **options)}]


def role_option(options: list[dict[str, Any]], role: dict[str, Any]) -> list[dict[str, Any]]:
    options[0]["options"][0]["options"].append({"name": "role", "type": 8, "value": role["id"]})
    return options


def answered(h: Harness, msg: dict[str, Any]) -> list[str]:
    return [
        m["content"]
        for m in h.discord.bot_messages()
        if (m.get("message_reference") or {}).get("message_id") == msg["id"]
    ]


@pytest.fixture
async def quota_harness(tmp_path: Path, embedder: Any, fake_openai: FakeOpenAI) -> AsyncIterator[Harness]:
    async for h in start_harness(tmp_path, embedder, fake_openai, toml_extra="[quotas]\nreplies_per_hour = 2\n\n"):
        yield h


@pytest.fixture
async def flood_harness(tmp_path: Path, embedder: Any, fake_openai: FakeOpenAI) -> AsyncIterator[Harness]:
    # Seconds generous enough that a slow machine still sees the burst as one.
    toml = "[flood]\nmessages = 4\nseconds = 60\n\n"
    async for h in start_harness(tmp_path, embedder, fake_openai, toml_extra=toml):
        yield h


async def test_access_lists_by_role_channel_and_category_and_who_may_change_them(harness: Harness) -> None:
    d = harness.discord
    regular, fan, admin, mod = d.add_user("regular"), d.add_user("fan"), d.add_user("admin"), d.add_user("mod")
    members, mods = d.add_role("members"), d.add_role("mods")
    d.give_role(fan, members)
    d.give_role(mod, mods)
    quiet_zone = d.add_category("quiet zone")
    library = d.add_channel("library", parent=quiet_zone)
    await d.refresh_guild()
    await harness.settle()

    # Members without Manage Server (or an admin role) cannot change anything.
    token = await d.slash(
        regular, "observer", group("access", "add", list="allow_roles", target=f"<@&{members['id']}>")
    )
    assert "Manage Server permission" in await answer(harness, token) and ephemeral(harness, token)

    token = await d.slash(
        admin, "observer", group("access", "add", list="allow_roles", target=f"<@&{members['id']}>"), manage_guild=True
    )
    assert f"allow_roles: <@&{members['id']}>" in await answer(harness, token)
    token = await d.slash(
        admin, "observer", group("access", "add", list="allow_channels", target="#general"), manage_guild=True
    )
    assert "give a channel as a mention or an id" in await answer(harness, token), "a clear error for bad input"
    token = await d.slash(
        admin, "observer", group("access", "add", list="block_channels", target=quiet_zone["id"]), manage_guild=True
    )
    assert quiet_zone["id"] in await answer(harness, token)

    outsider = await d.send_as(regular, f"{harness.mention()} hello?")
    insider = await d.send_as(fan, f"{harness.mention()} hello!")
    hushed = await d.send_as(fan, f"{harness.mention()} anyone here?", channel=library)
    await harness.settle()
    assert answered(harness, insider), "a member with an allowed role is answered"
    assert not answered(harness, outsider), "no allowed role: silence"
    assert not answered(harness, hushed), "a channel under a blocked category: silence"
    record = harness.services.record
    assert await record.stored_text(int(outsider["id"])) is not None, "still recorded (record_blocked = true)"
    assert len(harness.model.chat_requests()) == 1, "refused messages cost no model call"

    # An admin role may change settings without Manage Server.
    token = await d.slash(mod, "observer", group("access", "show"))
    assert "Manage Server permission" in await answer(harness, token)
    token = await d.slash(
        admin, "observer", group("access", "add", list="admin_roles", target=mods["id"]), manage_guild=True
    )
    await answer(harness, token)
    token = await d.slash(mod, "observer", group("access", "show"))
    shown = await answer(harness, token)
    assert f"allow_roles: <@&{members['id']}>" in shown and f"block_channels: <#{quiet_zone['id']}>" in shown

    # Blocked members are not even recorded when the server says so.
    token = await d.slash(mod, "observer", group("access", "add", list="block_users", target=f"<@{fan['id']}>"))
    await answer(harness, token)
    token = await d.slash(mod, "observer", group("access", "blocked", record_blocked=False, note="Not for you, sorry."))
    assert "record_blocked: False" in await answer(harness, token)
    unrecorded = await d.send_as(fan, f"{harness.mention()} and now?")
    again = await d.send_as(fan, f"{harness.mention()} hello??")
    await harness.settle()
    assert answered(harness, unrecorded) == ["Not for you, sorry."], "the blocked note, once"
    assert not answered(harness, again)
    assert await record.stored_text(int(unrecorded["id"])) is None

    token = await d.slash(mod, "observer", group("access", "reset"))
    await answer(harness, token)
    back = await d.send_as(regular, f"{harness.mention()} back to normal?")
    await harness.settle()
    assert answered(harness, back), "reset: the file's (empty) lists again"


async def test_quotas_with_a_role_override_one_note_per_window_and_usage(quota_harness: Harness) -> None:
    h = quota_harness
    d = h.discord
    ana, vip_member, admin = d.add_user("ana"), d.add_user("vip"), d.add_user("admin")
    vip = d.add_role("vip")
    d.give_role(vip_member, vip)
    await d.refresh_guild()
    await h.settle()
    options = role_option(group("quota", "set", limit="replies_per_hour", value="5"), vip)
    token = await d.slash(admin, "observer", options, manage_guild=True, roles=[vip])
    assert f"<@&{vip['id']}>: replies_per_hour = 5" in await answer(h, token)

    for i in range(2):
        asked = await d.send_as(ana, f"{h.mention()} question {i}")
        await h.settle()
        assert answered(h, asked)
    calls = len(h.model.chat_requests())
    over = await d.send_as(ana, f"{h.mention()} one more?")
    await h.settle()
    [note] = answered(h, over)
    assert note.startswith("You've reached your limit here (2 of 2 replies this hour)") and "ask again in about" in note
    again = await d.send_as(ana, f"{h.mention()} please?")
    await h.settle()
    assert not answered(h, again), "the note is said once per window, not on every message"
    assert len(h.model.chat_requests()) == calls, "no model call over the quota"

    for i in range(3):  # one at a time: a member's waiting question is superseded by their next one
        vip_ask = await d.send_as(vip_member, f"{h.mention()} vip question {i}")
        await h.settle()
        assert answered(h, vip_ask) and not answered(h, vip_ask)[0].startswith("You've"), "the role's own limit"

    token = await d.slash(ana, "observer", sub("usage", scope="me"))
    usage = await answer(h, token)
    assert "replies in the last hour: 2 of 2" in usage and "You're at a limit" in usage and ephemeral(h, token)
    token = await d.slash(ana, "observer", sub("usage"))
    assert "Your usage here" in await answer(h, token), "a member sees their own"
    token = await d.slash(admin, "observer", sub("usage"), manage_guild=True)
    top = await answer(h, token)
    assert "top members" in top and f"<@{vip_member['id']}>: 3," in top and f"<@{ana['id']}>: 2," in top


async def test_a_flooding_member_is_answered_once_and_told_to_slow_down(flood_harness: Harness) -> None:
    h = flood_harness
    d = h.discord
    h.model.token_delay_s = 0.02
    flooder, calm = d.add_user("flooder"), d.add_user("calm")
    burst = await asyncio.gather(*(d.send_as(flooder, f"{h.mention()} hey {i}") for i in range(6)))
    await h.settle()
    replies = [text for msg in burst for text in answered(h, msg)]
    slow_down = [t for t in replies if "faster than I can answer" in t]
    assert len(slow_down) == 1, replies
    assert len(replies) == 2, f"answered once, told once: {replies}"
    calm_msg = await d.send_as(calm, f"{h.mention()} hi")
    await h.settle()
    assert answered(h, calm_msg), "someone else is answered as usual"


async def test_a_flooded_channel_does_not_starve_another(harness: Harness) -> None:
    d, model = harness.discord, harness.model
    model.token_delay_s = 0.05
    other = d.add_channel("other")
    await d.refresh_guild()
    await harness.settle()
    crowd = [d.add_user(f"crowd{i}") for i in range(12)]
    flood = await asyncio.gather(*(d.send_as(u, f"{harness.mention()} tell me a story") for u in crowd))
    lone = await d.send_as(d.add_user("lone"), f"{harness.mention()} hi", channel=other)
    await d.wait_until(lambda: bool(answered(harness, lone)) and not answered(harness, lone)[0].endswith("▌"))
    unanswered = [m for m in flood if not answered(harness, m) or answered(harness, m)[0].endswith("▌")]
    assert unanswered, "the other channel's answer came while the flooded one was still busy"
    await harness.settle()
