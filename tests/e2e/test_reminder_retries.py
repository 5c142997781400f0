"""A reminder whose post Discord turns away for a passing reason (a 429 from Cloudflare, a 503) waits and
is sent again with a backoff, through the real scheduler and discord.py against the fake Discord: it
arrives once, after the fault clears; past the grace window it is marked failed."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.schedules.scheduler import ReminderScheduler
from agent.schedules.store import NewReminder, ReminderRow
from discord_adapter.reminders import ReminderDesk
from tests.e2e.conftest import Harness


async def _state(h: Harness, reminder_id: int) -> str:
    row = await h.services.reminders.get(reminder_id)
    assert row is not None
    return row.state


async def _reminder(h: Harness, owner: dict[str, str], text: str) -> ReminderRow:
    d = h.discord
    return await h.services.reminders.add(
        NewReminder(
            kind="remind",
            guild_id=int(d.guild_id),
            channel_id=int(d.general["id"]),
            channel_name="general",
            is_dm=False,
            owner_id=int(owner["id"]),
            owner_name=owner["username"],
            text=text,
            zone="UTC",
            due_at=datetime.now(UTC) + timedelta(seconds=1),
        )
    )


def _failed_posts(h: Harness, status: int) -> int:
    path = f"channels/{h.discord.general['id']}/messages"
    return sum(1 for r in h.discord.requests if r.path == path and r.method == "POST" and r.status == status)


@pytest.mark.parametrize("status", [429, 503])
async def test_a_passing_discord_fault_delays_a_reminder_which_then_arrives_once(
    harness: Harness, tmp_path: Path, status: int
):
    h, d = harness, harness.discord
    alice = d.add_user("alice")
    scheduler = ReminderScheduler(
        h.services.reminders,
        data_dir=tmp_path,
        grace=timedelta(hours=1),
        holder="test",
        retry_first=timedelta(milliseconds=300),
    )
    await scheduler.start(ReminderDesk(h.bot, h.bot.replier, h.bot.budget).deliver)
    try:
        d.failing_posts[d.general["id"]] = status
        row = await _reminder(h, alice, "water the plants")
        await scheduler.schedule(row)
        while _failed_posts(h, status) < 2:  # refused, then refused again: retried
            assert await _state(h, row.id) in ("pending", "firing"), "a passing fault never ends a reminder"
            await asyncio.sleep(0.05)
        assert await _state(h, row.id) in ("pending", "firing"), "a passing fault never ends a reminder"
        del d.failing_posts[d.general["id"]]
        await d.wait_until(lambda: any("water the plants" in m["content"] for m in d.bot_messages(d.general)))
        for _ in range(200):  # the state is written just after the post
            if await _state(h, row.id) == "sent":
                break
            await asyncio.sleep(0.05)
        assert await _state(h, row.id) == "sent"
        await asyncio.sleep(1)  # an observation window for a second post, not a time limit
        assert sum("water the plants" in m["content"] for m in d.bot_messages(d.general)) == 1
    finally:
        await scheduler.stop()


async def test_a_fault_lasting_past_the_grace_window_marks_the_reminder_failed(harness: Harness, tmp_path: Path):
    h, d = harness, harness.discord
    alice = d.add_user("alice")
    scheduler = ReminderScheduler(
        h.services.reminders,
        data_dir=tmp_path,
        grace=timedelta(seconds=6),
        holder="test",
        retry_first=timedelta(milliseconds=300),
    )
    await scheduler.start(ReminderDesk(h.bot, h.bot.replier, h.bot.budget).deliver)
    try:
        d.failing_posts[d.general["id"]] = 503
        row = await _reminder(h, alice, "call grandma")
        await scheduler.schedule(row)
        for _ in range(1200):
            if await _state(h, row.id) == "failed":
                break
            await asyncio.sleep(0.05)
        assert await _state(h, row.id) == "failed"
        assert _failed_posts(h, 503) >= 2, "tried again within the grace window before giving up"
    finally:
        await scheduler.stop()
