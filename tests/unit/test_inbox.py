"""The inbox owns a message's lifecycle: the moves the table allows, the in-hand set, first-wins takes.
No bot: an Inbox over a record in a scratch SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import get_args

import pytest

from agent.memory.db import create_engine, upgrade
from agent.memory.progress import MessageState, Progress
from agent.memory.record import Record
from discord_adapter.inbox import MOVES, IllegalMove, Inbox, check, stage
from tests.conftest import make_event


@pytest.fixture
async def record(tmp_path: Path) -> AsyncIterator[Record]:
    record = Record(create_engine(f"sqlite+aiosqlite:///{tmp_path / 'observer.db'}"), patience=5)
    await upgrade(record.engine)
    yield record
    await record.close()


def test_the_table_covers_every_state_and_finished_ones_go_nowhere():
    assert set(MOVES) == {None, *get_args(MessageState)}
    for finished in ("answered", "skipped", "failed", "expired"):
        assert not MOVES[finished]
    check(1, ("waiting",), "answering")
    check(1, ("answering", None), "answered")


@pytest.mark.parametrize(
    ("source", "to"),
    [("answered", "answering"), ("waiting", "answered"), ("paused", "answered"), ("expired", "waiting")],
)
def test_an_illegal_move_raises_a_clear_error(source: MessageState, to: MessageState):
    with pytest.raises(IllegalMove, match=f"message 7: no move from {source} to {to}"):
        check(7, (source,), to)


def test_a_state_read_from_the_record_is_one_of_the_lifecycle():
    assert stage("paused") == "paused"
    with pytest.raises(ValueError, match="not a message state"):
        stage("lost")


async def test_illegal_moves_never_reach_the_record(record: Record):
    inbox = Inbox(Progress(record.engine, record.patience))
    question = make_event("<@1> hello?")
    await record.store_event(question, state="waiting")
    with pytest.raises(IllegalMove):
        await inbox.mark(question.message_id, "answered", sources=("waiting",))
    with pytest.raises(IllegalMove):
        await inbox.claim(question.message_id, ("paused",), "answered")
    assert await inbox.progress.state(question.message_id) == "waiting"


async def test_a_move_is_written_only_from_the_state_the_record_really_holds(record: Record):
    inbox = Inbox(Progress(record.engine, record.patience))
    question = make_event("<@1> may I?")
    await record.store_event(question, state="waiting")
    assert await inbox.claim(question.message_id, ("waiting",))
    assert await inbox.mark(question.message_id, "paused", sources=("answering",))
    # The caller believes it is answering (a legal move from there), but the record says paused.
    assert not await inbox.mark(question.message_id, "answered", sources=("answering", None))
    assert await inbox.progress.state(question.message_id) == "paused", "the table holds against the record"
    assert not await inbox.mark(make_event("kept out").message_id, "answered", sources=(None,)), "not in the record"
    untracked = make_event("a line stored without a state")
    await record.store_event(untracked)
    assert await inbox.mark(untracked.message_id, "skipped", sources=(None,))
    assert await inbox.progress.state(untracked.message_id) == "skipped"


async def test_a_message_arrives_only_waiting_or_skipped(record: Record):
    inbox = Inbox(Progress(record.engine, record.patience))
    question = make_event("<@1> hello?")
    firsts: tuple[MessageState, ...] = ("answering", "answered", "retrying")
    for first in firsts:
        with pytest.raises(IllegalMove, match=f"cannot arrive {first}"):
            await inbox.arrive_as(question, first)
    assert await record.stored_text(question.message_id) is None


async def test_a_message_goes_through_its_lifecycle(record: Record):
    inbox = Inbox(Progress(record.engine, record.patience))
    question = make_event("<@1> may I use a tool?")
    await record.store_event(question, state="waiting")
    inbox.hold(question.message_id)
    assert inbox.holds(question.message_id) and question.message_id in inbox.in_hand
    assert await inbox.claim_queued(question.message_id, resumed=False)
    await inbox.mark(question.message_id, "paused", sources=("answering",))
    inbox.release(question.message_id)
    assert not inbox.holds(question.message_id)
    # a press and the timeout (or a restart) race for the paused run: the first take wins, once
    assert await inbox.take(question.message_id, ("paused",))
    assert not await inbox.take(question.message_id, ("paused",)), "in hand: the second never reaches the record"
    inbox.release(question.message_id)
    assert not await inbox.take(question.message_id, ("paused",)), "no longer paused in the record"
    assert not inbox.holds(question.message_id), "a lost take lets go"
    await inbox.mark(question.message_id, "answered", sources=("answering",))
    assert await inbox.progress.state(question.message_id) == "answered"


async def test_release_all_lets_go_of_the_runs_another_process_took(record: Record):
    inbox = Inbox(Progress(record.engine, record.patience))
    for message_id in (1, 2, 3):
        inbox.hold(message_id)
    inbox.release_all({1, 3})
    assert inbox.in_hand == {2}
