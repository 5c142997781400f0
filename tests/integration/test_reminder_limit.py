"""The per-member limit on waiting reminders holds under a burst: many `add`s at once (the same member's
/schedule remind sent back to back, from one process or two) store at most the limit, on SQLite and on
PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from agent.memory.db import create_engine, upgrade
from agent.schedules.store import NewReminder, Reminders, TooMany


def _new(owner: int, n: int, guild: int = 1) -> NewReminder:
    return NewReminder(
        kind="remind",
        guild_id=guild,
        channel_id=10,
        channel_name="general",
        is_dm=False,
        owner_id=owner,
        owner_name="alice",
        text=f"reminder {n}",
        zone="UTC",
        due_at=datetime.now(UTC) + timedelta(hours=1),
    )


async def _burst(stores: list[Reminders], owner: int, count: int) -> tuple[int, list[str]]:
    results = await asyncio.gather(
        *(stores[n % len(stores)].add(_new(owner, n, guild=1 + n % 2)) for n in range(count)),
        return_exceptions=True,
    )
    unexpected = [r for r in results if isinstance(r, BaseException) and not isinstance(r, TooMany)]
    assert not unexpected, unexpected
    refusals = [str(r) for r in results if isinstance(r, TooMany)]
    return count - len(refusals), refusals


@pytest.mark.parametrize("engines", [1, 2], ids=["one process", "two engines"])
async def test_a_burst_of_reminders_stops_at_the_limit(database_url: str, engines: int):
    made = [create_engine(database_url) for _ in range(engines)]
    try:
        await upgrade(made[0])
        stores = [Reminders(e, per_member=25) for e in made]
        stored, refusals = await _burst(stores, owner=7, count=40)
        assert stored == 25, f"{stored} stored past a limit of 25"
        assert all("25" in r and "across all servers" in r for r in refusals), refusals[:1]
        assert len(await stores[0].listing(owner_id=7)) == 25
        # Another member is not held by alice's.
        assert (await _burst(stores, owner=8, count=3))[0] == 3
    finally:
        for e in made:
            await e.dispose()
