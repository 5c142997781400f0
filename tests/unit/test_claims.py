"""Two processes sharing one record both queue a message: only the one whose claim wins runs it; the
other hears nothing of it. Storing the message again never puts a taken message back to waiting."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agent.memory.db import create_engine, upgrade
from agent.memory.progress import Progress
from agent.memory.record import Record
from discord_adapter.inbox import Inbox
from tests.conftest import make_event


@pytest.fixture
async def records(tmp_path: Path) -> AsyncIterator[tuple[Record, Record]]:
    """Two processes' handles on one database file."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'observer.db'}"
    first = Record(create_engine(url), patience=5)
    await upgrade(first.engine)
    second = Record(create_engine(url), patience=5)
    yield first, second
    await first.close()
    await second.close()


def process(record: Record) -> Inbox:
    return Inbox(Progress(record.engine, record.patience))


async def test_of_two_processes_that_queued_one_message_exactly_one_runs_it(records: tuple[Record, Record]):
    a, b = records
    question = make_event("<@1> hello?")
    await a.store_event(question, state="waiting")
    await b.store_event(question, state="waiting")  # the second process's arrival
    assert await process(a).claim_queued(question.message_id, resumed=False)
    assert await Progress(a.engine).state(question.message_id) == "answering"
    assert not await process(b).claim_queued(question.message_id, resumed=False), "the second process drops its copy"
    assert not await process(b).claim_queued(question.message_id, resumed=False, to="failed"), (
        "nor may it note the queue full"
    )
    assert await Progress(a.engine).mark(question.message_id, "answered", sources=("answering",))
    await b.store_event(question, state="waiting")  # a late arrival (a gateway replay, a catch-up)
    assert await Progress(b.engine).state(question.message_id) == "answered", "never back to waiting"
    assert not await process(b).claim_queued(question.message_id, resumed=False)


async def test_untracked_and_resumed_jobs_run_as_before(records: tuple[Record, Record]):
    a, _ = records
    kept_out = make_event("<@1> never recorded")
    assert await process(a).claim_queued(kept_out.message_id, resumed=False), "nothing to claim: handled as before"
    resumed = make_event("<@1> taken by the recovery pass")
    await a.store_event(resumed, state="answering")
    assert await process(a).claim_queued(resumed.message_id, resumed=True)
