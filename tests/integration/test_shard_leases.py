"""The database as the coordinator of several processes (issue S), on SQLite and PostgreSQL: shard
leases taken once, lost when not renewed; processes alive while they beat; a question claimed by a
process that died is taken over, one claimed by a live process is not."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update

from agent.memory import tables
from agent.memory.db import create_engine, upgrade
from agent.memory.processes import Me, Processes, is_alive
from agent.memory.progress import Progress
from agent.memory.record import Record
from agent.memory.shard_leases import ShardLeases
from discord_adapter.shard_keeper import ShardKeeper
from discord_adapter.stream import ChannelBudget
from tests.conftest import make_event

LEASE_S = 2.0


async def engine_for(url: str):
    engine = create_engine(url)
    await upgrade(engine)
    return engine


async def age_leases(engine, seconds: float) -> None:
    """As if `seconds` had passed without a renewal (no test waits for a lease to run out)."""
    c = tables.shard_leases.c
    async with engine.begin() as conn:
        await conn.execute(update(tables.shard_leases).values(expires_at=c.expires_at - seconds))


async def test_of_many_processes_taking_one_shard_at_once_exactly_one_gets_it(database_url: str) -> None:
    engine = await engine_for(database_url)
    try:
        takers = [ShardLeases(engine, f"p{n}", LEASE_S) for n in range(8)]
        for shard in range(4):
            won = await asyncio.gather(*(t.take(shard) for t in takers))
            assert sum(won) == 1, f"shard {shard}: taken by {sum(won)} processes"
        view = await takers[0].view()
        assert sorted(s for shards in view.held.values() for s in shards) == [0, 1, 2, 3]
    finally:
        await engine.dispose()


async def test_a_lease_not_renewed_expires_and_passes_to_another_process_which_the_first_notices(
    database_url: str,
) -> None:
    engine = await engine_for(database_url)
    try:
        stalled, survivor = ShardLeases(engine, "stalled", LEASE_S), ShardLeases(engine, "survivor", LEASE_S)
        assert await stalled.take(0) and await stalled.take(1)
        assert not await survivor.take(0), "an unexpired lease is not taken"
        assert await stalled.renew() == {0, 1}
        await age_leases(engine, LEASE_S + 1)
        assert (await survivor.view()).held == {}, "expired leases are nobody's"
        assert await survivor.take(1)
        assert await stalled.renew() == {0}, "renewing shows the stalled process that shard 1 is gone"
        await stalled.release_all()
        assert (await survivor.view()).held == {"survivor": frozenset({1})}
    finally:
        await engine.dispose()


async def test_a_process_is_alive_while_it_beats_and_dead_a_lease_later_or_at_once_when_its_pid_is_gone(
    database_url: str,
) -> None:
    engine = await engine_for(database_url)
    try:
        other = Processes(engine, Me(host="elsewhere", pid=4242), LEASE_S)
        here_but_gone = Processes(engine, Me(pid=2**22 + 7), LEASE_S)  # this host, a pid nobody has
        me = Processes(engine, Me(), LEASE_S)
        await other.beat("auto", 4, [0, 1])
        await here_but_gone.beat("fixed", 4, [2])
        await me.beat("auto", 4, [3])
        assert await me.live_ids() == {other.me.id, me.me.id}
        now, rows = await me.rows()
        row = next(r for r in rows if r.id == other.me.id)
        assert row.shards == (0, 1) and row.layout == "auto" and row.shard_count == 4
        assert not is_alive(row, me.me, now + LEASE_S + 1, LEASE_S), "silent for a lease: dead"
        await other.leave()
        assert other.me.id not in {r.id for r in (await me.rows())[1]}
    finally:
        await engine.dispose()


async def test_a_question_claimed_by_a_dead_process_is_taken_over_one_claimed_by_a_live_one_is_not(
    database_url: str,
) -> None:
    engine = await engine_for(database_url)
    try:
        record = Record(engine)
        alive, dead = Progress(engine, holder="alive"), Progress(engine, holder="dead")
        theirs, orphan = make_event("being answered"), make_event("was being answered")
        for event in (theirs, orphan):
            await record.store_event(event, state="waiting")
        assert await alive.claim(theirs.message_id, ("waiting",))
        assert await dead.claim(orphan.message_id, ("waiting",))
        survivor = Progress(engine, holder="survivor")
        rows = {r.message_id: r for r in await survivor.unfinished()}
        assert rows[orphan.message_id].holder == "dead"
        # The survivor started before both claims, so only the holder's liveness tells them apart.
        started = datetime.now(UTC) - timedelta(hours=1)
        live = frozenset({"alive", "survivor"})
        for event in (theirs, orphan):
            row = rows[event.message_id]
            await survivor.claim(row.message_id, (row.state,), seen_at=row.state_at, set_before=started, live=live)
        after = {r.message_id: r for r in await survivor.unfinished()}
        assert after[theirs.message_id].holder == "alive", "a live process's question stays its own"
        assert after[orphan.message_id].holder == "survivor", "a dead process's question is taken over"
    finally:
        await engine.dispose()


async def test_a_process_whose_question_was_taken_over_cannot_overwrite_its_state(database_url: str) -> None:
    """A process frozen longer than its lease wakes up and finishes: the record keeps the new holder's word."""
    engine = await engine_for(database_url)
    try:
        record = Record(engine)
        frozen, survivor = Progress(engine, holder="frozen"), Progress(engine, holder="survivor")
        question = make_event("asked before the freeze")
        await record.store_event(question, state="waiting")
        assert await frozen.claim(question.message_id, ("waiting",))
        [row] = await survivor.unfinished()
        started = datetime.now(UTC) - timedelta(hours=1)
        assert await survivor.claim(
            row.message_id, (row.state,), seen_at=row.state_at, set_before=started, live=frozenset({"survivor"})
        )
        assert not await frozen.mark(question.message_id, "failed", sources=("answering",)), "held by the survivor"
        await frozen.note_reply_parts(question.message_id, [1, 2, 3])
        [after] = await survivor.unfinished()
        assert after.state == "answering" and after.holder == "survivor" and after.reply_parts == ()
        assert await survivor.mark(question.message_id, "answered", sources=("answering",))
        assert await survivor.state(question.message_id) == "answered"
    finally:
        await engine.dispose()


async def test_thousands_of_shards_are_taken_in_one_go_each_by_one_process(database_url: str) -> None:
    engine = await engine_for(database_url)
    try:
        # Leases long enough to outlast taking 6,000 of them on a slow, busy machine (2 s once did not).
        first, second = ShardLeases(engine, "first", 600.0), ShardLeases(engine, "second", 600.0)
        assert await first.take_many(list(range(0, 12000, 2))) == set(range(0, 12000, 2))
        won = await second.take_many(list(range(12000)))
        assert won == set(range(1, 12000, 2)), "only the shards nobody held"
        assert await first.renew() == set(range(0, 12000, 2))
    finally:
        await engine.dispose()


class Shards:
    """The bot as the shard keeper sees it: records when it was told to check its answers, and resumes
    questions with a call to Discord (as closing an interrupted answer does)."""

    def __init__(self, order: list[str], budget: ChannelBudget) -> None:
        self.order = order
        self.budget = budget
        self.resumed_after_a_check = asyncio.Event()

    def held(self) -> set[int]:
        return {0}

    async def add(self, shard_id: int) -> None: ...
    async def drop(self, shard_id: int) -> None: ...

    async def resume_orphans(self) -> None:
        async with self.budget.turn(8):
            self.order.append("resumed")
        if "checked which answers are still its own" in self.order:
            self.resumed_after_a_check.set()

    async def abandon_taken(self) -> None:
        self.order.append("checked which answers are still its own")


async def test_a_process_frozen_in_the_middle_of_a_beat_writes_nothing_before_it_checks_its_answers(
    database_url: str,
) -> None:
    """SIGSTOP can land while a beat waits on the database, its leases renewed just before. Thawed, that
    beat ends: the process was silent for longer than its lease all the same, and must check which
    questions are still its own before any call to Discord (it used to count the beat as fresh and edit
    over the answer of the process that had taken the question over). Resuming a dead process's questions
    (a call to Discord) happens beside the beats: inside one, while the fence was shut, it waited for the
    next beat, which waited for it."""
    engine = await engine_for(database_url)
    keeper = None
    try:
        lease = 1.5
        processes = Processes(engine, Me(), lease)
        order: list[str] = []
        keeper = ShardKeeper(processes, "fixed", 1, fixed=lambda: {0})
        budget = ChannelBudget(0.0)
        budget.fence = keeper
        keeper.client = shards = Shards(order, budget)
        edited = asyncio.Event()

        async def progress_edit() -> None:
            async with budget.turn(7):
                order.append("edit")
            edited.set()

        beat, beats = processes.beat, 0

        async def beat_then_freeze(*args: Any) -> float:
            nonlocal beats
            done = await beat(*args)
            beats += 1
            if beats == 2:
                time.sleep(lease + 0.5)  # noqa: ASYNC251 - the whole process stopped (SIGSTOP), its beat in the database
                asyncio.get_running_loop().create_task(progress_edit())  # thawed: an edit is due
            return done

        processes.beat = beat_then_freeze  # type: ignore[method-assign]
        keeper.begin()
        # A guard, not a measure: the beat that locked itself up waiting at its own fence never edits.
        await asyncio.wait_for(edited.wait(), 300)
        assert "checked which answers are still its own" in order[: order.index("edit")]
        await asyncio.wait_for(shards.resumed_after_a_check.wait(), 300)  # and orphans are resumed after it
    finally:
        if keeper is not None:
            await keeper.stop()
        await engine.dispose()
