"""One place builds a member's rights, and every door reads them (issue R): a message, `/chat` and an
approval button, through the real discord.py client against the fake Discord, each walked through
every rule: allow_roles, block_users, allow/block channels by channel, thread parent and category, a
hidden `#staff-only` channel for search_messages, and an admin-only tool.
(The console's door: tests/unit/test_access_policy.py.)"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agent.member_texts import NOT_HERE
from tests.e2e.conftest import Harness, start_harness
from tests.e2e.test_slash_commands import final_edit
from tests.fakes.discord_server import GUARD_S
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.mcp import tide_server_toml

ANSWER = "Here is my answer."
SECRET = "swordfish"
DOORS = ["message", "chat", "button"]


@dataclass
class World:
    h: Harness
    alarms: Path
    users: dict[str, dict[str, Any]]
    places: dict[str, dict[str, Any]]
    roles: dict[str, dict[str, Any]]


@pytest.fixture
async def world(tmp_path: Path, embedder: Any, fake_openai: FakeOpenAI) -> AsyncIterator[World]:
    alarms = tmp_path / "alarms.txt"
    # Flood control off: one member asks many times here on purpose (flood has its own tests).
    flood = "[flood]\nmessages = 1000\nseconds = 1\n\n"
    toml = flood + tide_server_toml(alarms, confirm=["set_alarm"], admin_only=["purge_cache"])
    async for h in start_harness(tmp_path, embedder, fake_openai, toml, tools=True, checkpointed=True):
        d = h.discord
        users = {name: d.add_user(name) for name in ("fan", "outsider", "staff")}
        users["owner"] = d.owner
        roles = {"members": d.add_role("members"), "staff": d.add_role("staff")}
        d.give_role(users["fan"], roles["members"])
        d.give_role(users["staff"], roles["members"])
        d.give_role(users["staff"], roles["staff"])
        quiet = d.add_category("quiet zone")
        library = d.add_channel("library", parent=quiet)
        places = {
            "general": d.general,
            "quiet": quiet,
            "library": library,
            "thread": d.add_thread("reading group", library),
            "staff-only": d.add_channel("staff-only"),
        }
        d.hide(places["staff-only"], but_for=roles["staff"])
        hub = h.services.toolbox.hub
        await d.wait_until(lambda hub=hub: all(s["state"] == "connected" for s in hub.status()))
        await d.refresh_guild()
        await h.settle()
        await d.send_as(users["staff"], f"the vault password is {SECRET}", channel=places["staff-only"])
        await d.send_as(users["fan"], "I forgot my password again, it was on a sticky note", channel=d.general)
        await h.settle()
        yield World(h, alarms, users, places, roles)


async def set_access(w: World, lists: dict[str, list[dict[str, Any]]]) -> None:
    guild_id = int(w.h.discord.guild_id)
    await w.h.services.record.reset_guild_section(guild_id, "access")
    if lists:
        values = {name: [int(x["id"]) for x in items] for name, items in lists.items()}
        await w.h.services.record.update_guild_section(guild_id, "access", values)
    w.h.services.gate.forget(guild_id)


def replies_to(h: Harness, msg: dict[str, Any]) -> list[str]:
    return [
        m["content"]
        for m in h.discord.bot_messages()
        if (m.get("message_reference") or {}).get("message_id") == msg["id"]
    ]


def approval_prompt(h: Harness, question: dict[str, Any]) -> dict[str, Any] | None:
    return next(
        (
            m
            for m in h.discord.bot_messages()
            if m["content"].startswith("🔐")
            and m.get("components")
            and (m.get("message_reference") or {}).get("message_id") == question["id"]
        ),
        None,
    )


def button(prompt: dict[str, Any], label: str) -> str:
    return next(c["custom_id"] for row in prompt["components"] for c in row["components"] if c["label"] == label)


async def through(
    door: str,
    w: World,
    who: str,
    where: str,
    *,
    lists: dict[str, list[dict[str, Any]]] | None = None,
    calls: list[tuple[str, dict[str, Any]]] | None = None,
) -> str:
    """Ask through one door as `who` in `where` under these access lists; what the member was shown
    (the answer, a refusal, or "" for silence). An approval's lists apply to the press: asked freely,
    then the rule changes, then the asker presses Approve."""
    d, h = w.h.discord, w.h
    h.model.script.clear()
    user, channel = w.users[who], w.places[where]
    if door == "button":
        await set_access(w, {})
        h.model.push(Reply(tool_calls=[("set_alarm", {"time": "06:00"}), *(calls or [])]), Reply(ANSWER))
        question = await d.send_as(user, f"{h.mention()} set an alarm", channel=channel)
        await d.wait_until(lambda: approval_prompt(h, question) is not None)
        prompt = approval_prompt(h, question)
        assert prompt is not None
        await set_access(w, lists or {})
        token = await d.click(user, prompt, button(prompt, "Approve"))
        await d.wait_until(lambda: d.interaction_responses.get(token))
        await h.settle()
        first = d.interaction_responses[token][0]
        if first.get("type") == 4:  # a message of its own: the press was refused
            return str(first["data"]["content"])
        await run_finished(h, question)
        return "\n".join(r for r in replies_to(h, question) if not r.startswith(("🔐", "✅")))
    await set_access(w, lists or {})
    if calls:
        h.model.push(Reply(tool_calls=calls), Reply(ANSWER))
    else:
        h.model.push(Reply(ANSWER))
    if door == "message":
        question = await d.send_as(user, f"{h.mention()} a question", channel=channel)
        await h.settle()
        return "\n".join(replies_to(h, question))
    token = await d.slash(user, "chat", [{"name": "prompt", "type": 3, "value": "a question"}], channel=channel)
    refused = lambda: [r for r in d.interaction_responses.get(token, []) if r.get("type") == 4]  # noqa: E731
    await d.wait_until(lambda: refused() or final_edit(d, token))
    await h.settle()
    if refused():
        return str(refused()[0]["data"]["content"])
    return str([r for r in d.interaction_responses[token] if "edit" in r][-1]["edit"]["content"])


async def run_finished(h: Harness, question: dict[str, Any]) -> None:
    """A resumed run is the press's, not a queue's: wait until the record says it finished."""
    deadline = time.monotonic() + GUARD_S
    while await h.bot.progress.state(int(question["id"])) not in ("answered", "skipped", "failed"):
        assert time.monotonic() < deadline, "the resumed run never finished"
        await asyncio.sleep(0.1)
    await h.settle()


def tool_results(w: World) -> list[str]:
    last = w.h.model.chat_requests()[-1]
    return [str(m["content"]) for m in last["messages"] if m["role"] == "tool"]


# (what the rule is, the access lists, who asks, where, answered?)
RULES: list[tuple[str, dict[str, list[str]], str, str, bool]] = [
    ("no lists", {}, "outsider", "general", True),
    ("allow_roles, without the role", {"allow_roles": ["members"]}, "outsider", "general", False),
    ("allow_roles, with the role", {"allow_roles": ["members"]}, "fan", "general", True),
    ("block_users", {"block_users": ["fan"]}, "fan", "general", False),
    ("allow_channels names another channel", {"allow_channels": ["general"]}, "fan", "library", False),
    ("allow_channels names the category", {"allow_channels": ["quiet"]}, "fan", "library", True),
    ("allow_channels names the thread's parent", {"allow_channels": ["library"]}, "fan", "thread", True),
    ("block_channels names the channel", {"block_channels": ["library"]}, "fan", "library", False),
    ("block_channels names the category", {"block_channels": ["quiet"]}, "fan", "library", False),
    ("block_channels names the thread's parent", {"block_channels": ["library"]}, "fan", "thread", False),
    ("block_channels names the thread's category", {"block_channels": ["quiet"]}, "fan", "thread", False),
]


def resolve(w: World, lists: dict[str, list[str]]) -> dict[str, list[dict[str, Any]]]:
    found = {**w.users, **w.places, **w.roles}
    return {name: [found[x] for x in items] for name, items in lists.items()}


@pytest.mark.parametrize("door", DOORS)
async def test_every_door_applies_every_access_rule(world: World, door: str) -> None:
    for rule, lists, who, where, allowed in RULES:
        shown = await through(door, world, who, where, lists=resolve(world, lists))
        if allowed:
            assert ANSWER in shown, f"{door}, {rule}: {who} in #{where} should be answered, got {shown!r}"
        else:
            assert ANSWER not in shown, f"{door}, {rule}: {who} in #{where} was answered"
            if door != "message":  # a command or a press waits for a word; a message is refused in silence
                assert shown == NOT_HERE, f"{door}, {rule}: {shown!r}"


@pytest.mark.parametrize("door", DOORS)
async def test_a_hidden_channel_is_never_searched_for_a_member_who_cannot_see_it(world: World, door: str) -> None:
    search = [("search_messages", {"query": "password"})]
    shown = await through(door, world, "fan", "general", calls=search)
    assert ANSWER in shown
    [found] = [r for r in tool_results(world) if "password" in r]
    assert "sticky note" in found, "the search ran over what the member can read"
    assert SECRET not in found, f"{door}: #staff-only leaked to a member without access: {found!r}"
    shown = await through(door, world, "staff", "general", calls=search)
    [found] = [r for r in tool_results(world) if "password" in r]
    assert SECRET in found, "a member of staff can search #staff-only"


@pytest.mark.parametrize("door", DOORS)
async def test_an_admin_only_tool_runs_only_for_manage_server(world: World, door: str) -> None:
    purge = [("purge_cache", {})]
    await through(door, world, "fan", "general", calls=purge)
    [refused] = [r for r in tool_results(world) if "purge_cache" in r]
    assert "only for members with Manage Server" in refused
    assert "PURGED" not in (world.alarms.read_text() if world.alarms.exists() else "")
    await through(door, world, "owner", "general", calls=purge)
    assert "cache purged" in tool_results(world)
    assert "PURGED" in world.alarms.read_text()
