"""Catch-up finds holes anywhere in its window, not only after the newest recorded message; and a
passing fault (locked, full, away) is told from a bug."""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from agent.memory.db import create_engine
from agent.memory.faults import dependency_down, fault_summary
from discord_adapter.missed import missed_messages
from tests.faults import locked_sqlite


@dataclass
class Line:
    id: int
    created_at: datetime


class Channel:
    """A channel's history as Discord hands it out: newest first, before an id."""

    def __init__(self, count: int) -> None:
        start = datetime.now(UTC) - timedelta(hours=1)
        self.lines = [Line(i, start + timedelta(seconds=i)) for i in range(1, count + 1)]
        self.read = 0

    async def history(self, *, limit: int, before: Any, oldest_first: bool) -> AsyncIterator[Line]:
        assert not oldest_first
        for line in reversed([x for x in self.lines if before is None or x.id < before.id][-limit:]):
            self.read += 1
            yield line


def recorded(ids: set[int]) -> Any:
    async def known(asked: list[int]) -> set[int]:
        return ids & set(asked)

    return known


async def test_a_hole_behind_newer_recorded_messages_is_found():
    channel = Channel(150)
    record = set(range(1, 151)) - {120, 121, 122}  # lost to a fault; 123..150 were written after
    missed = await missed_messages(
        channel,  # type: ignore[arg-type]
        before=None,
        since=datetime.now(UTC) - timedelta(days=1),
        limit=200,
        known=recorded(record),
    )
    assert [m.id for m in missed] == [120, 121, 122]


async def test_reading_stops_at_the_first_page_the_record_holds_whole():
    channel = Channel(1000)
    missed = await missed_messages(
        channel,  # type: ignore[arg-type]
        before=None,
        since=datetime.now(UTC) - timedelta(days=1),
        limit=1000,
        known=recorded(set(range(1, 1001))),
    )
    assert missed == [] and channel.read == 100


async def test_messages_in_memory_are_not_missed_and_the_limit_bounds_the_read():
    channel = Channel(500)
    missed = await missed_messages(
        channel,  # type: ignore[arg-type]
        before=451,  # 451 on arrived live
        since=datetime.now(UTC) - timedelta(days=1),
        limit=200,
        known=recorded(set()),
        in_memory={450},
    )
    assert [m.id for m in missed] == list(range(251, 450))


async def test_a_lock_held_by_another_process_is_a_passing_fault_and_a_missing_table_is_not(tmp_path: Path):
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (x INTEGER)"))
    async with locked_sqlite(tmp_path / "x.db"):
        with pytest.raises(OperationalError) as locked:
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO t VALUES (1)"))
    with pytest.raises(OperationalError) as missing:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT * FROM no_such_table"))
    await engine.dispose()
    assert dependency_down(locked.value)
    assert fault_summary(locked.value) == "OperationalError: database is locked"
    assert not dependency_down(missing.value)
    assert "INSERT" not in fault_summary(locked.value), "never the statement or its parameters"


def test_full_disks_and_refused_connections_are_passing_faults_and_bugs_are_not():
    assert dependency_down(sqlite3.OperationalError("database or disk is full"))
    assert dependency_down(OSError(errno.ENOSPC, "No space left on device"))
    assert dependency_down(ConnectionRefusedError(errno.ECONNREFUSED, "refused"))
    try:
        try:
            raise ConnectionResetError("peer went away")
        except ConnectionResetError as inner:
            raise RuntimeError("wrapped by a library") from inner
    except RuntimeError as outer:
        assert dependency_down(outer), "the cause decides"
    assert not dependency_down(ValueError("a bug"))
    assert not dependency_down(KeyError("x"))
    assert not dependency_down(TimeoutError()), "a slow model or tool is not a dependency that is down"
    assert dependency_down(ExceptionGroup("task group", [ValueError("x"), ConnectionResetError()]))
