"""A write the database refuses for a while (another process holds the lock longer than busy_timeout,
or the disk is full) is kept and written when it can be: nothing handed to the record is lost."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from agent.memory import tables
from agent.memory.db import create_engine, upgrade
from agent.memory.progress import Progress
from agent.memory.record import Record
from agent.memory.record.delays import RecordDelayed
from tests.conftest import make_event
from tests.faults import can_mount, fill, locked_sqlite, release, small_disk


async def open_record(path: Path) -> Record:
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await upgrade(engine)
    return Record(engine, patience=0.5)


@pytest.fixture
async def record(tmp_path: Path) -> AsyncIterator[Record]:
    rec = await open_record(tmp_path / "observer.db")
    yield rec
    await rec.close()


async def rows(record: Record) -> dict[int, tuple[str | None, int | None]]:
    async with record.engine.connect() as conn:
        found = await conn.execute(select(tables.messages.c.id, tables.messages.c.state, tables.messages.c.answers_id))
        return {int(i): (s, a) for i, s, a in found.all()}


async def test_a_lock_held_longer_than_busy_timeout_delays_the_write_but_loses_nothing(tmp_path: Path, record: Record):
    first = make_event("stored before the lock")
    await record.store_event(first, state="answered")
    async with locked_sqlite(tmp_path / "observer.db") as locker:
        questions = [make_event(f"<@1> question {i}", author=f"m{i}") for i in range(3)]
        outcomes = await asyncio.gather(
            *(record.store_event(q, state="waiting") for q in questions), return_exceptions=True
        )
        # The callers were told, not failed: each holds a promise that its row will be written.
        assert all(isinstance(o, RecordDelayed) for o in outcomes), outcomes
        reply_id = record.store_bot_reply(first, "an answer written behind", bot_id=1, bot_name="Observer")
        assert record.degraded
        await record.flush()  # reads do not wait for a database that refuses writes
        await release(locker)
        modes = await asyncio.wait_for(asyncio.gather(*(o.written for o in outcomes)), 120)  # type: ignore[union-attr]
    assert modes == ["mentions"] * 3
    await record.flush()
    stored = await rows(record)
    assert all(stored[q.message_id][0] == "waiting" for q in questions)
    assert stored[reply_id] == (None, first.message_id), "the reply written behind was retried, not dropped"
    assert not record.degraded


async def test_progress_marks_wait_out_a_short_lock(tmp_path: Path, record: Record):
    question = make_event("<@1> hi")
    await record.store_event(question, state="waiting")
    progress = Progress(record.engine, patience=600)
    async with locked_sqlite(tmp_path / "observer.db") as locker:
        marking = asyncio.create_task(progress.mark(question.message_id, "answered", sources=("waiting",)))
        await asyncio.sleep(0.5)
        assert not marking.done()
        await release(locker)
        await asyncio.wait_for(marking, 120)
    assert await progress.state(question.message_id) == "answered"


@pytest.mark.skipif(not can_mount(), reason="mounting a small tmpfs needs root on Linux")
async def test_a_full_disk_delays_arrivals_and_replies_until_space_is_freed(tmp_path: Path):
    with small_disk(tmp_path / "disk", "4m") as disk:
        record = await open_record(disk / "observer.db")
        try:
            await record.store_event(make_event("before the disk filled"))
            filler = fill(disk)
            # Big enough that SQLite needs new pages for it (a page or two of slack may remain).
            question = make_event("<@1> " + "a long question " * 2000)
            with pytest.raises(RecordDelayed) as delayed:
                await record.store_event(question, state="waiting")
            reply_id = record.store_bot_reply(question, "answer " * 2000, bot_id=1, bot_name="Observer")
            filler.unlink()
            await asyncio.wait_for(delayed.value.written, 120)
            await record.flush()
            stored = await rows(record)
            assert stored[question.message_id][0] == "waiting"
            assert stored[reply_id][1] == question.message_id
        finally:
            await record.close()
