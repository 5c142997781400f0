"""Liveness per shard: a shard that reconnects holds back only its own guilds' live messages.

From a shard's (re)connection until its recovery pass has queued what it missed, the live messages it
delivers are stored at once but held, so they never overtake older ones; every other shard keeps
answering. A shard whose session resumed missed nothing: its held messages go at once. A guild belongs
to shard `(guild_id >> 22) % shard_count`, as Discord routes it; direct messages to shard 0.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from discord_adapter.queues import Job
from discord_adapter.unrecorded import away_now

log = logging.getLogger(__name__)

Recover = Callable[[frozenset[int]], Awaitable[None]]
Submit = Callable[[Job], Awaitable[None]]


def shard_of(guild_id: int | None, shard_count: int | None) -> int:
    """Discord's routing of a guild's events to a shard; direct messages go to shard 0."""
    if not guild_id or not shard_count:
        return 0
    return (guild_id >> 22) % shard_count


class ShardHold:
    """Which shards are live; the messages each recovering shard holds back; one recovery pass at a time."""

    def __init__(self, recover: Recover, submit: Submit) -> None:
        self._recover = recover
        self._submit = submit
        self.live: set[int] = set()  # shards whose recovery pass is done since they last connected
        self._pending: set[int] = set()  # shards whose READY still needs a recovery pass
        self._running: frozenset[int] = frozenset()  # shards the pass in progress recovers
        self._held: dict[int, list[Job]] = {}
        self._task: asyncio.Task[None] | None = None
        # Shard → when it went away (epoch seconds), until its recovery pass is done: how far back to look
        # in channels the record knows nothing from.
        self.away_since: dict[int, float] = {}
        # Shard → since when nobody may have held it (epoch seconds): a shard taken over from another
        # process (automatic layout) missed what was said between its old holder and us.
        self.unheld_since: dict[int, float] = {}
        # Shards this process handed over (automatic layout): nothing of theirs is held back any more.
        self.handed_over: set[int] = set()

    def holds(self, shard_id: int) -> bool:
        return shard_id not in self.live

    def hold(self, shard_id: int, job: Job) -> bool:
        """Keep `job` back while its shard recovers; False: the shard is live, or another process's
        now (a message this process took in before handing its shard over): queue it now."""
        if shard_id in self.live or shard_id in self.handed_over:
            return False
        self._held.setdefault(shard_id, []).append(job)
        return True

    def disconnected(self, shard_id: int) -> None:
        """What this shard delivers next waits until it is known whether the session resumed."""
        self.live.discard(shard_id)
        self.away_since.setdefault(shard_id, away_now())

    def taken_over(self, shard_id: int, gap_s: float) -> None:
        """`shard_id` comes from another process, which may have stopped up to `gap_s` seconds ago."""
        self.unheld_since[shard_id] = away_now() - gap_s
        self.handed_over.discard(shard_id)

    def forget(self, shard_id: int) -> list[Job]:
        """The shard went to another process: nothing more is held for it. Returns what was held (this
        process took those in, so it answers them)."""
        self.live.discard(shard_id)
        self._pending.discard(shard_id)
        self.away_since.pop(shard_id, None)
        self.unheld_since.pop(shard_id, None)
        self.handed_over.add(shard_id)
        return self._held.pop(shard_id, [])

    def ready(self, shard_id: int) -> None:
        """A READY: the session was new, so the shard missed events; read them before going live."""
        self.live.discard(shard_id)
        self._pending.add(shard_id)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._recover_pending())

    async def resumed(self, shard_id: int) -> None:
        """The session resumed (Discord replayed what was missed): live again, unless a pass is due."""
        if shard_id in self._pending or shard_id in self._running:
            return
        await self._go_live(shard_id)

    async def _recover_pending(self) -> None:
        while self._pending:
            shards = self._running = frozenset(self._pending)
            self._pending.clear()
            try:
                await self._recover(shards)
            except Exception:
                log.exception("recovery of shard(s) %s failed; their live messages are still answered", sorted(shards))
            finally:
                self._running = frozenset()
            for shard_id in shards:
                if shard_id not in self._pending:  # READY again meanwhile: the next pass releases it
                    await self._go_live(shard_id)

    async def _go_live(self, shard_id: int) -> None:
        # Held messages first, those arriving meanwhile too, so nothing live overtakes them.
        while held := self._held.pop(shard_id, []):
            log.info("shard %s: %d held message(s) released", shard_id, len(held))
            for job in held:
                await self._submit(job)
        self.live.add(shard_id)
        self.away_since.pop(shard_id, None)
        self.unheld_since.pop(shard_id, None)

    async def settled(self) -> None:
        """Wait for the recovery pass in progress, if any (tests)."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)
