"""`/observer summary [since:]` through the real discord.py client and the fake Discord (issue N): from the
record, only what was said since then, in the member's language, ephemeral unless the member chose
public, never for a channel the member cannot read, and honest about what did not fit."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from agent.events import Event
from agent.ids import new_snowflake
from tests.e2e.conftest import Harness
from tests.e2e.test_slash_commands import answer, sub
from tests.fakes.openai_server import Reply

CAUGHT_UP = "Mostly the picnic: Alice set 10:00 at the lake, Bob brings tea."


async def said(h: Harness, who: str, text: str, ago: timedelta, channel: dict[str, Any] | None = None) -> None:
    """A message in the record, written `ago` before now (the record is what a summary reads)."""
    d = h.discord
    place = channel or d.general
    await h.services.record.store_event(
        Event(
            platform="discord",
            message_id=new_snowflake(),
            guild_id=int(d.guild_id),
            guild_name="Test Guild",
            channel_id=int(place["id"]),
            channel_name=place["name"],
            author_id=hash(who) % 10**9 + 1,
            author_name=who,
            text=text,
            created_at=datetime.now(UTC) - ago,
        )
    )


async def shown(h: Harness, token: str, parts: int = 1) -> str:
    """What the member reads once the command has answered (`parts`: messages it takes), joined."""
    d = h.discord

    def written() -> list[dict[str, Any]]:
        return [r.get("edit") or r["followup"] for r in responses(h, token) if "edit" in r or "followup" in r]

    await d.wait_until(lambda: len(written()) >= parts)
    await h.settle()
    return "".join(str(p.get("content") or "") for p in written())


def summary_prompt(h: Harness) -> str:
    return str(h.model.requests[-1]["messages"][-1]["content"])


def responses(h: Harness, token: str) -> list[dict[str, Any]]:
    return h.discord.interaction_responses[token]


def deferred_flags(h: Harness, token: str) -> int:
    first = responses(h, token)[0]
    assert first["type"] == 5, "deferred: the member sees 'thinking…' while the model writes"
    return int((first.get("data") or {}).get("flags", 0))


async def test_a_summary_of_what_was_said_since_then_only_for_the_member(harness: Harness):
    h, d = harness, harness.discord
    await said(h, "dave", "planning the picnic for next month, any ideas?", timedelta(days=3))
    await said(h, "alice", "We meet at 10:00 at the lake on Saturday.", timedelta(hours=1, minutes=20))
    await said(h, "bob", "I'll bring the tea and <@123456789012345678> brings cups", timedelta(minutes=30))
    h.model.push(Reply(CAUGHT_UP))
    carol = d.add_user("carol")
    token = await d.slash(carol, "observer", sub("summary", since="2h"))
    text = await shown(h, token)

    assert deferred_flags(h, token) & 64, "ephemeral by default (a member's privacy is private)"
    assert text.startswith("**#general** since <t:") and "· 2 messages" in text
    assert text.endswith(CAUGHT_UP)
    prompt = summary_prompt(h)
    assert "We meet at 10:00 at the lake" in prompt and "I'll bring the tea" in prompt
    assert "planning the picnic" not in prompt, "older than since: left out"
    assert "in English" in prompt
    edits = [r["edit"] for r in responses(h, token) if "edit" in r]
    assert edits[-1]["allowed_mentions"] == {"parse": []}, "a summary names members, never pings them"


async def test_in_the_members_language_and_public_when_they_chose_it(harness: Harness):
    h, d = harness, harness.discord
    await said(h, "ken", "ピクニックは土曜日の10時に湖で。", timedelta(hours=5))
    await said(h, "ken", "先週の話", timedelta(days=3))
    yui = d.add_user("yui")
    await h.services.record.set_privacy(int(yui["id"]), "yui", "public")
    h.model.push(Reply("土曜日10時、湖でピクニック。"))
    token = await d.slash(yui, "observer", sub("summary", since="昨日"), locale="ja")
    text = await shown(h, token)
    assert not deferred_flags(h, token) & 64, "the member chose public"
    assert text.endswith("土曜日10時、湖でピクニック。") and "· 1 message\n" in text
    prompt = summary_prompt(h)
    assert "in Japanese" in prompt and "ピクニックは土曜日" in prompt and "先週の話" not in prompt

    ana = d.add_user("ana")
    h.model.push(Reply("Piquenique no sábado."))
    token = await d.slash(ana, "observer", sub("summary", since="anteontem"), locale="pt-BR")
    await shown(h, token)
    assert "in Portuguese" in summary_prompt(h) and "ピクニックは土曜日" in summary_prompt(h)


async def test_nothing_said_a_bad_since_and_a_channel_the_member_cannot_read(harness: Harness):
    h, d = harness, harness.discord
    ivan = d.add_user("ivan")
    asked = len(h.model.requests)
    token = await d.slash(ivan, "observer", sub("summary", since="вчера"), locale="ru")
    assert (await shown(h, token)).startswith("Nothing was said in #general since <t:")
    # Deferred first (reading since: may load dateparser's data past Discord's 3 s), then told why.
    token = await d.slash(ivan, "observer", sub("summary", since="завтра"), locale="ru")
    assert "is in the future" in await shown(h, token)
    token = await d.slash(ivan, "observer", sub("summary", since="whenever the cat sleeps"))
    assert "could not read" in await shown(h, token)
    assert responses(h, token)[0]["type"] == 5, "the interaction was deferred before since: was read"

    staff = d.add_role("staff")
    secret = d.add_channel("staff-room")
    d.hide(secret, but_for=staff)
    await d.refresh_guild()
    await said(h, "boss", "the budget is 12k", timedelta(minutes=5), channel=secret)
    token = await d.slash(ivan, "observer", sub("summary"), channel=secret)
    assert "can't read this channel's history" in await answer(h, token)
    assert len(h.model.requests) == asked, "no model call for any of these"

    d.give_role(ivan, staff)
    await d.refresh_guild()
    h.model.push(Reply("Budget: 12k."))
    token = await d.slash(ivan, "observer", sub("summary"), channel=secret)
    assert (await shown(h, token)).endswith("Budget: 12k.")


async def test_a_long_channel_keeps_the_newest_and_says_what_did_not_fit(harness: Harness):
    h, d = harness, harness.discord
    words = "the long discussion about the migration plan goes on with details and more details " * 3
    for i in range(400):
        await said(h, f"member{i % 7}", f"message {i:03d}: {words}", timedelta(minutes=400 - i))
    long_summary = "\n\n".join(f"Point {i}: " + "a finding that takes some words to explain. " * 6 for i in range(12))
    h.model.push(Reply(long_summary))
    token = await d.slash(d.add_user("late"), "observer", sub("summary", since="1 day"))
    text = await shown(h, token, parts=2)
    prompt = summary_prompt(h)
    assert "message 399:" in prompt, "the newest is always read"
    assert "message 000:" not in prompt, "the oldest are left out to fit the model's window"
    kept = len(re.findall(r"message \d{3}:", prompt))
    parts = [r.get("edit") or r["followup"] for r in responses(h, token) if "edit" in r or "followup" in r]
    assert all(len(p["content"]) <= 2000 for p in parts) and len(parts) >= 2, "split as every long answer"
    assert all(p["flags"] & 64 for p in parts if "flags" in p), "follow-ups as private as the first part"
    assert f"· {kept} messages" in text
    assert f"-# The oldest {400 - kept} messages did not fit; this covers from <t:" in text
    assert text.count("Point ") == 12
