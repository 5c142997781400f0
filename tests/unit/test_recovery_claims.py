"""A recovery pass takes an interrupted question through the inbox, without a bot: once per process (in
hand), once across processes (the record), and only for the shards this process serves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from agent.memory.db import create_engine, upgrade
from agent.memory.progress import Progress
from agent.memory.record import Record
from discord_adapter.inbox import Inbox
from discord_adapter.recovery import claim_unfinished
from discord_adapter.shard_hold import shard_of
from tests.conftest import make_event


@pytest.fixture
async def record(tmp_path: Path) -> AsyncIterator[Record]:
    record = Record(create_engine(f"sqlite+aiosqlite:///{tmp_path / 'observer.db'}"), patience=5)
    await upgrade(record.engine)
    yield record
    await record.close()


def process(record: Record, name: str, shard_ids: list[int] | None = None, shard_count: int = 1) -> SimpleNamespace:
    """The parts of a running bot a recovery pass uses to claim (recovery.Recovering)."""
    inbox = Inbox(Progress(record.engine, record.patience, holder=name))
    return SimpleNamespace(inbox=inbox, shard_ids=shard_ids, shard_count=shard_count, uptime=lambda: 0.0)


async def test_an_interrupted_question_is_taken_once_here_and_once_anywhere(record: Record):
    question = make_event("<@1> still there?", mentions_bot=True)
    await record.store_event(question, state="waiting")
    [row] = await Progress(record.engine).unfinished()
    first, second = process(record, "first"), process(record, "second")

    assert await claim_unfinished(first, row, frozenset())
    assert first.inbox.holds(question.message_id)
    assert not await claim_unfinished(first, row, frozenset()), "in hand: never queued twice by one process"
    assert not await claim_unfinished(second, row, frozenset()), "the record: never by two"
    assert not second.inbox.holds(question.message_id), "a lost claim lets go"
    assert await Progress(record.engine).state(question.message_id) == "answering"


async def test_a_question_of_another_processes_shard_is_left_alone(record: Record):
    question = make_event("<@1> hello?", mentions_bot=True)
    await record.store_event(question, state="waiting")
    [row] = await Progress(record.engine).unfinished()
    elsewhere = 1 - shard_of(row.guild_id, 2)
    other = process(record, "other", shard_ids=[elsewhere], shard_count=2)

    assert not await claim_unfinished(other, row, frozenset())
    assert not other.inbox.holds(question.message_id)
    assert await Progress(record.engine).state(question.message_id) == "waiting"


async def test_a_too_old_question_is_closed_once(record: Record):
    question = make_event("<@1> anyone?", mentions_bot=True)
    await record.store_event(question, state="waiting")
    [row] = await Progress(record.engine).unfinished()

    assert await claim_unfinished(process(record, "first"), row, frozenset(), to="expired")
    assert not await claim_unfinished(process(record, "second"), row, frozenset(), to="expired")
    assert await Progress(record.engine).state(question.message_id) == "expired"
