"""One malformed or unexpected gateway event never takes the bot down: the real `observer run` in a
subprocess gets every shape below from the fake Discord, logs and drops each, and keeps answering."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from agent.memory import tables
from agent.memory.db import create_engine
from tests.e2e.bot_process import BotProcess
from tests.fakes.discord_server import FakeDiscord, snowflake
from tests.fakes.openai_server import FakeOpenAI

# Member words inside the malformed events: they must never reach the log.
WORDS = "lemon-meringue-secret"


@pytest.fixture
async def bot(tmp_path: Path, discord: FakeDiscord, fake_openai: FakeOpenAI) -> AsyncIterator[BotProcess]:
    fake_openai.default_reply = "still here"
    process = BotProcess(tmp_path, discord, fake_openai)
    yield process
    await process.stop()


def malformed_events(d: FakeDiscord) -> list[tuple[str, Any]]:
    """Each shape a buggy, hostile or newer Discord could send, as (event type, data)."""
    alice = d.add_user("alice")
    good = d.message_payload(d.general["id"], alice, f"<@{d.bot['id']}> {WORDS}")

    def message(**change: Any) -> dict[str, Any]:
        out = {**good, "id": snowflake(), **change}
        return {k: v for k, v in out.items() if v is not ...}

    other_guild = snowflake()  # a guild the bot has not seen: a broken payload must not replace a known one
    return [
        ("MESSAGE_CREATE", message(author=...)),
        ("MESSAGE_CREATE", message(id="abc")),
        ("MESSAGE_CREATE", message(author={**alice, "id": None})),
        ("MESSAGE_CREATE", message(channel_id=None)),
        ("MESSAGE_CREATE", message(mentions=[{"id": "x"}])),
        ("MESSAGE_CREATE", None),
        ("MESSAGE_CREATE", [1, 2, 3]),
        ("MESSAGE_UPDATE", {"id": snowflake(), "channel_id": d.general["id"], "content": WORDS}),
        ("MESSAGE_UPDATE", {"id": "abc", "channel_id": d.general["id"], "guild_id": d.guild_id}),
        ("MESSAGE_DELETE", {"id": None, "channel_id": d.general["id"]}),
        ("MESSAGE_DELETE_BULK", {"ids": "abc", "channel_id": d.general["id"], "guild_id": d.guild_id}),
        ("MESSAGE_DELETE_BULK", {"ids": [None], "channel_id": None}),
        ("INTERACTION_CREATE", {"id": snowflake(), "type": 2, "token": "tok", "application_id": d.app_id}),
        ("INTERACTION_CREATE", {"id": snowflake(), "type": 3, "guild_id": d.guild_id, "data": None, "member": None}),
        ("GUILD_CREATE", {"id": other_guild, "unavailable": False, "name": "broken"}),
        ("GUILD_CREATE", {"id": "not-a-guild"}),
        ("GUILD_UPDATE", {"id": None}),
        ("GUILD_DELETE", {}),
        ("CHANNEL_CREATE", {"id": snowflake(), "type": 9999, "guild_id": d.guild_id, "name": "future"}),
        ("CHANNEL_UPDATE", {"id": d.general["id"], "type": 9999, "guild_id": d.guild_id}),
        ("CHANNEL_DELETE", {"id": "abc", "type": 0, "guild_id": d.guild_id}),
        ("THREAD_CREATE", {"id": snowflake(), "guild_id": d.guild_id}),
        ("THREAD_UPDATE", {"id": snowflake(), "guild_id": d.guild_id, "parent_id": None}),
        ("THREAD_DELETE", {"id": "abc", "guild_id": d.guild_id}),
        ("THREAD_LIST_SYNC", {"guild_id": d.guild_id, "threads": [{"id": None}], "members": None}),
        ("THREAD_MEMBERS_UPDATE", {"id": "abc", "guild_id": d.guild_id}),
        ("TYPING_START", {"channel_id": "abc", "user_id": None}),
        ("VOICE_STATE_UPDATE", {"guild_id": d.guild_id, "channel_id": None, "user_id": None, "member": {}}),
        ("VOICE_STATE_UPDATE", {"guild_id": d.guild_id, "channel_id": None}),
        ("MESSAGE_REACTION_ADD", {"message_id": "abc", "emoji": None}),
        ("GUILD_MEMBER_UPDATE", {"guild_id": d.guild_id, "user": None}),
        ("GUILD_ROLE_CREATE", {"guild_id": d.guild_id, "role": None}),
        ("PRESENCE_UPDATE", {"user": None}),
        ("RESUMED", "not an object"),
        ("SOMETHING_DISCORD_ADDS_NEXT_YEAR", {"id": snowflake(), "content": WORDS}),
    ]


RAW_PAYLOADS = [
    "{this is not json " + WORDS,
    "[1, 2, 3]",
    "42",
    "null",
    json.dumps({"op": 0, "t": "MESSAGE_CREATE"}),
    json.dumps({"op": 999, "d": {"content": WORDS}}),
    json.dumps({"op": 10, "d": None}),
]


async def test_malformed_gateway_events_are_dropped_and_the_bot_keeps_answering(
    tmp_path: Path, bot: BotProcess, discord: FakeDiscord
):
    await bot.start()
    alice = discord.add_user("alice")
    before = await discord.send_as(alice, f"<@{discord.bot['id']}> hello")
    await bot.wait_until(lambda: bot.answered(before, "still here"), "the bot never answered before the chaos")

    events = malformed_events(discord)
    for event, data in events:
        await discord.dispatch(event, data)
    for raw in RAW_PAYLOADS:
        await discord.send_raw(raw)
    # A partial edit of a message the bot knows (no author: discord.py cannot build a Message from it).
    await discord.dispatch("MESSAGE_UPDATE", {"id": before["id"], "channel_id": before["channel_id"], "content": "hi!"})

    after = await discord.send_as(alice, f"<@{discord.bot['id']}> are you still there?")
    await bot.wait_until(lambda: bot.answered(after, "still here"), "the bot stopped answering after the chaos")
    assert bot.proc is not None and bot.proc.returncode is None, "the process never exits on a bad event"
    assert discord.shard_links[0].identifies == 1, "the shard kept its session: no reconnect was needed"

    logs = bot.logs()
    for event in ("MESSAGE_CREATE", "MESSAGE_UPDATE", "INTERACTION_CREATE", "MESSAGE_DELETE_BULK", "THREAD_CREATE"):
        assert f"gateway event {event} dropped" in logs, f"a dropped {event} is logged"
    assert "gateway event payload on shard 0 dropped" in logs, "an unreadable payload is logged"
    assert WORDS not in logs, "the dropped events' content never reaches the log"

    again = await discord.send_as(alice, f"<@{discord.bot['id']}> one more")
    await bot.wait_until(lambda: bot.answered(again, "still here"), "a third question after the chaos")
    assert await bot.terminate() == 0
    assert await stored_text(tmp_path, before) == "hi!", "the partial edit's new text reached the record"


async def stored_text(tmp_path: Path, msg: dict[str, Any]) -> str | None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'observer.db'}")
    try:
        async with engine.connect() as conn:
            value = await conn.scalar(select(tables.messages.c.content).where(tables.messages.c.id == int(msg["id"])))
        return None if value is None else str(value)
    finally:
        await engine.dispose()
