"""Reminders across real restarts: `observer run` as a subprocess against the fake Discord, killed with
`kill -9` before a reminder is due and started again; each reminder is posted once, late ones with a
note, ones past the grace window as missed. Slash commands and their permission refusals."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from agent.memory.db import create_engine
from agent.schedules import tables
from agent.schedules.store import ReminderRow, Reminders
from tests.e2e.bot_process import BotProcess
from tests.e2e.test_slash_commands import sub
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.openai_server import FakeOpenAI


@pytest.fixture
async def bot(tmp_path: Path, discord: FakeDiscord, fake_openai: FakeOpenAI) -> AsyncIterator[BotProcess]:
    process = BotProcess(tmp_path, discord, fake_openai, env={"OBSERVER_REMINDER_GRACE": "1h"})
    yield process
    await process.stop()


def record_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'data' / 'observer.db'}"


async def rows(url: str, owner_id: int) -> list[ReminderRow]:
    engine = create_engine(url)
    try:
        return await Reminders(engine).listing(owner_id=owner_id)
    finally:
        await engine.dispose()


async def move_due(url: str, reminder_id: int, due: datetime) -> None:
    """Where the bot's clock would be after a long downtime: the reminder's time set back in the record."""
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(update(tables.reminders).where(tables.reminders.c.id == reminder_id).values(due_at=due))
    finally:
        await engine.dispose()


async def response(bot: BotProcess, discord: FakeDiscord, token: str) -> str:
    await bot.wait_until(lambda: discord.interaction_responses.get(token), "the command was never answered")
    for item in discord.interaction_responses[token]:
        body = item.get("data") or item.get("edit") or item.get("followup") or {}
        if body.get("content"):
            return str(body["content"])
    return ""


async def until_states(url: str, user: dict[str, Any], wanted: dict[int, str]) -> None:
    """Poll the record until the reminders' states are `wanted` (a state is written just after the post)."""
    for _ in range(600):
        if {r.id: r.state for r in await rows(url, int(user["id"]))} == wanted:
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"states never became {wanted}")


def reminders_for(discord: FakeDiscord, user: dict[str, Any], text: str) -> list[dict[str, Any]]:
    return [m for m in discord.bot_messages() if m["content"].startswith(f"<@{user['id']}>") and text in m["content"]]


async def test_kill_9_before_due_then_each_reminder_fires_once_late_with_a_note_or_missed(
    tmp_path: Path, bot: BotProcess, discord: FakeDiscord
):
    await bot.start()
    alice = discord.add_user("alice")
    token = await discord.slash(alice, "schedule", sub("remind", when="in 30 seconds", what="water the plants"))
    assert "I'll remind you" in await response(bot, discord, token)
    token = await discord.slash(alice, "schedule", sub("remind", when="in 2 hours", what="call grandma"))
    assert "I'll remind you" in await response(bot, discord, token)
    url = record_url(tmp_path)
    plants, grandma = sorted(await rows(url, int(alice["id"])), key=lambda r: r.id)
    assert plants.state == grandma.state == "pending"

    await bot.kill9()  # before either is due
    assert plants.due_at is not None
    # The bot stays down while it falls due, and a minute beyond (a late one).
    await asyncio.sleep(max((plants.due_at + timedelta(minutes=1, seconds=5) - datetime.now(UTC)).total_seconds(), 0))
    await move_due(url, grandma.id, datetime.now(UTC) - timedelta(hours=3))  # down longer than the grace

    await bot.start()
    await bot.wait_until(lambda: reminders_for(discord, alice, "water the plants"), "the late reminder never came")
    await bot.wait_until(lambda: reminders_for(discord, alice, "call grandma"), "the missed one was never reported")
    [late] = reminders_for(discord, alice, "water the plants")
    assert "late by" in late["content"] and "offline" in late["content"]
    assert [str(u) for u in late["allowed_mentions"]["users"]] == [alice["id"]], "pings exactly its owner"
    assert not late["allowed_mentions"].get("parse"), "never @everyone, @here or roles"
    [missed] = reminders_for(discord, alice, "call grandma")
    assert "missed a reminder" in missed["content"]

    await until_states(url, alice, {plants.id: "sent", grandma.id: "missed"})

    # Another restart fires nothing again: its scheduler starts, sweeps, and finds nothing left to fire.
    await bot.kill9()
    await bot.start()
    await bot.wait_until(lambda: "reminders: scheduler started" in bot.log_path().read_text(), "no scheduler")
    await asyncio.sleep(1)  # an observation window for a wrong second post, not a time limit
    assert len(reminders_for(discord, alice, "water the plants")) == 1
    assert len(reminders_for(discord, alice, "call grandma")) == 1
    assert await bot.terminate() == 0
