"""Liveness per shard: hold-back and release of live messages while a shard recovers."""

from __future__ import annotations

import asyncio

from agent.events import event_from_names
from discord_adapter.queues import Job
from discord_adapter.shard_hold import ShardHold, shard_of


def job(message_id: int) -> Job:
    event = event_from_names("test", text="hi", author="ana", channel="general", bot_name="Observer")
    return Job(event.model_copy(update={"message_id": message_id}), object())


class World:
    def __init__(self, fail: bool = False) -> None:
        self.submitted: list[int] = []
        self.recovering: list[frozenset[int]] = []
        self.gate = asyncio.Event()
        self.fail = fail
        self.hold = ShardHold(self.recover, self.submit)

    async def recover(self, shards: frozenset[int]) -> None:
        self.recovering.append(shards)
        await self.gate.wait()
        if self.fail:
            raise RuntimeError("catch-up failed")

    async def submit(self, j: Job) -> None:
        self.submitted.append(j.event.message_id)


def test_guilds_are_routed_to_shards_as_discord_does():
    assert shard_of(None, 2) == 0, "direct messages belong to shard 0"
    assert shard_of(5 << 22, 2) == 1
    assert shard_of(4 << 22, 2) == 0
    assert shard_of(5 << 22, None) == 0


async def test_a_recovering_shard_holds_only_its_own_messages_and_releases_them_in_order():
    w = World()
    w.hold.ready(0)
    w.hold.ready(1)
    await asyncio.sleep(0)
    assert w.hold.hold(0, job(1)) and w.hold.hold(1, job(2)), "before its recovery pass, a shard holds"
    w.gate.set()
    await w.hold.settled()
    assert sorted(w.submitted) == [1, 2]

    w.gate.clear()
    w.hold.disconnected(1)
    w.hold.ready(1)  # shard 1 lost its session; shard 0 goes on
    assert not w.hold.hold(0, job(3)), "the healthy shard's message is queued at once"
    assert w.hold.hold(1, job(4)) and w.hold.hold(1, job(5))
    await asyncio.sleep(0)
    assert w.recovering[-1] == frozenset({1}), "only the reconnected shard is read for what it missed"
    assert w.submitted == [1, 2], "held while shard 1 recovers"
    w.gate.set()
    await w.hold.settled()
    assert w.submitted == [1, 2, 4, 5], "released in arrival order"
    assert not w.hold.hold(1, job(6)), "live again"


async def test_a_resumed_session_releases_at_once_unless_a_recovery_pass_is_due():
    w = World()
    w.gate.set()
    w.hold.ready(0)
    await w.hold.settled()
    w.hold.disconnected(0)
    assert w.hold.hold(0, job(1))
    await w.hold.resumed(0)
    assert w.submitted == [1] and not w.hold.holds(0)

    w.gate.clear()
    w.hold.ready(0)
    await asyncio.sleep(0)
    assert w.hold.hold(0, job(2))
    await w.hold.resumed(0)  # a RESUMED while the READY's pass runs must not overtake it
    assert w.submitted == [1]
    w.gate.set()
    await w.hold.settled()
    assert w.submitted == [1, 2]


async def test_a_failed_recovery_pass_still_releases_the_held_messages():
    w = World(fail=True)
    w.gate.set()
    w.hold.ready(0)
    assert w.hold.hold(0, job(1))
    await w.hold.settled()
    assert w.submitted == [1], "members are still answered when catch-up fails"
