"""Every process beats in the shared database; in the automatic layout it also keeps its shard leases.

One beat every third of the lease (`OBSERVER_PROCESS_LEASE_SECONDS`): the process row is refreshed,
leases are renewed, and the plan (agent/shard_plan.py) says whether to take free shards or hand one
back. A lease lost while this process was stalled means another process has that shard now: it is
dropped at once. Each beat also resumes questions whose process died holding them, in this process's
shards. A beat the database refuses is logged and tried at the next one; a process that cannot beat
for a whole lease loses its shards to the others, which is the point.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from agent.memory.processes import Processes, is_alive
from agent.memory.shard_leases import ShardLeases
from agent.shard_plan import next_step

log = logging.getLogger(__name__)

# How long a process may be silent before `observer status` stops listing it.
FORGET_AFTER_S = 24 * 3600


class ShardClient(Protocol):
    """What the keeper needs of the Discord client (discord_adapter/shard_control.py)."""

    def held(self) -> set[int]: ...
    async def add(self, shard_id: int) -> None: ...
    async def drop(self, shard_id: int) -> None: ...
    async def resume_orphans(self) -> None: ...
    async def abandon_taken(self) -> None: ...


class ShardKeeper:
    def __init__(
        self,
        processes: Processes,
        layout: str,
        shard_count: int | None,
        fixed: Callable[[], set[int]] = set,
    ) -> None:
        self.processes = processes
        self.layout = layout  # all | fixed | auto
        self.shard_count = shard_count
        self.fixed = fixed  # what a fixed (or "all") layout connects, for the beat
        self.leases = ShardLeases(processes.engine, processes.me.id, processes.lease_seconds)
        self.client: ShardClient | None = None
        self.leased: set[int] = set()  # auto: shards whose lease we hold
        self._task: asyncio.Task[None] | None = None
        self._attaching: asyncio.Task[None] | None = None
        self._resuming: asyncio.Task[None] | None = None
        # Shards being connected: an IDENTIFY may wait seconds for Discord's rate limit, and the beat
        # must not wait with it (its leases would lapse).
        self._connecting: dict[int, asyncio.Task[None]] = {}
        # The last beat the database took (loop time), and an event set while beats keep coming.
        self._last_ok = asyncio.get_running_loop().time()
        self._steady = asyncio.Event()
        self._steady.set()
        # After this process could not beat, others may look dead to it only because they could not
        # either (the database was down for all): it takes nothing from anyone for one lease.
        self._trust_after = 0.0

    @property
    def interval(self) -> float:
        return self.processes.lease_seconds / 3

    async def first_shards(self) -> list[int]:
        """Auto: beat until this process holds at least one shard (the others hand some over)."""
        noted = False
        while True:
            await self._keep_leases(plan=True)
            if self.leased:
                return sorted(self.leased)
            if not noted:
                log.warning("every shard is held by another process; waiting for a share")
                noted = True
            await asyncio.sleep(self.interval)

    def begin(self) -> None:
        """Beat from now on (before the client exists too: leases must not lapse while it starts)."""
        self._last_ok = asyncio.get_running_loop().time()
        self._task = asyncio.create_task(self._run())

    def attach(self, client: ShardClient, launched: Callable[[], Coroutine[Any, Any, object]]) -> None:
        """Take and hand back shards through `client` once its first shards are launched (before that, a
        shard connected or dropped would race discord.py's own start-up)."""
        self._attaching = asyncio.create_task(self._attach(client, launched))

    async def _attach(self, client: ShardClient, launched: Callable[[], Coroutine[Any, Any, object]]) -> None:
        await launched()
        self.client = client

    def fenced(self) -> bool:
        """Silent for longer than the lease (frozen, or the database away): another process may hold
        this one's shards and questions now. Calls to Discord wait (`steady`) until that is settled."""
        return asyncio.get_running_loop().time() - self._last_ok > self.processes.lease_seconds

    async def steady(self) -> None:
        if self.fenced():
            self._steady.clear()
        await self._steady.wait()

    def _trusting(self) -> bool:
        return asyncio.get_running_loop().time() >= self._trust_after

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            loop = asyncio.get_running_loop()
            # The leases are renewed somewhere in the beat: known held from its start, not its end.
            started = loop.time()
            try:
                await self.beat()
            except Exception as exc:  # the database is down: the next beat tries again
                log.warning("process beat failed (%s); retrying in %.0f s", type(exc).__name__, self.interval)
                self._trust_after = float("inf")
                continue
            if self._trust_after == float("inf"):
                self._trust_after = loop.time() + self.processes.lease_seconds
            # Judged once the beat is done: a process frozen in the middle of a beat (its leases read just
            # before) was silent as long as one frozen between beats, and must check the same way.
            silent = loop.time() - self._last_ok > self.processes.lease_seconds
            if silent:
                log.warning(
                    "this process was silent for longer than its lease; checking which answers are still its own"
                )
                if self.client is not None:
                    try:
                        await self.client.abandon_taken()
                    except Exception as exc:  # the database again: the fence stays shut, the next beat checks
                        log.warning("could not check which answers are still this process's (%s)", exc)
                        continue
            self._last_ok = started
            self._steady.set()
            self._resume_orphans()

    async def beat(self) -> None:
        if self.layout != "auto":
            await self.processes.beat(self.layout, self.shard_count, self.fixed())
        else:
            await self._keep_leases(plan=self.client is not None and self._trusting())

    def _resume_orphans(self) -> None:
        """Questions of a dead process, resumed beside the beats, never inside one: resuming calls Discord,
        and a call made while the fence is shut waits for the next beat, which must not wait for it."""
        if self.client is None or not self._trusting() or self.fenced():
            return
        if self._resuming is None or self._resuming.done():
            self._resuming = asyncio.create_task(self._resume(self.client))

    @staticmethod
    async def _resume(client: ShardClient) -> None:
        try:
            await client.resume_orphans()
        except Exception as exc:  # tried again after the next beat
            log.warning("could not resume the questions of a stopped process (%s)", type(exc).__name__)

    async def _keep_leases(self, plan: bool) -> None:
        assert self.shard_count is not None
        kept = set(await self.leases.renew())
        for lost in sorted(self.leased - kept):
            log.warning("shard %s: lease lost (this process stalled); another process has it now", lost)
            await self._drop(lost)
        self.leased = kept
        await self.processes.beat("auto", self.shard_count, self.leased)
        if not plan:
            return
        now, rows = await self.processes.rows()
        me = self.processes.me
        live = [r.id for r in rows if r.layout == "auto" and is_alive(r, me, now, self.processes.lease_seconds)]
        view = await self.leases.view()
        step = next_step(self.shard_count, me.id, live, view.held)
        for shard_id in sorted(await self.leases.take_many(list(step.take))):
            if shard_id not in self.leased:
                self.leased.add(shard_id)
                log.info("shard %s: taken (holding %s of %d)", shard_id, sorted(self.leased), self.shard_count)
                if self.client is not None:
                    connecting = self._connecting[shard_id] = asyncio.create_task(self.client.add(shard_id))
                    connecting.add_done_callback(functools.partial(self._connected, shard_id))
        if step.release is not None:
            log.info("shard %s: handed back for a process that holds fewer", step.release)
            await self._drop(step.release)
            await self.leases.release(step.release)
            self.leased.discard(step.release)
        if step.take or step.release is not None:
            await self.processes.beat("auto", self.shard_count, self.leased)

    def _connected(self, shard_id: int, task: asyncio.Task[None]) -> None:
        if self._connecting.get(shard_id) is task:
            del self._connecting[shard_id]
        if not task.cancelled() and task.exception() is not None:
            log.warning(
                "shard %s: could not connect (%s); the lease is kept, discord.py retries", shard_id, task.exception()
            )

    async def _drop(self, shard_id: int) -> None:
        connecting = self._connecting.pop(shard_id, None)
        if connecting is not None and not connecting.done():
            connecting.cancel()
            with contextlib.suppress(BaseException):
                await connecting
        if self.client is not None:
            await self.client.drop(shard_id)

    async def stop(self) -> None:
        """A clean stop: leases handed back and the process row removed, so others take over at once."""
        for task in (self._task, self._attaching, self._resuming, *self._connecting.values()):
            if task is not None:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        try:
            await self.leases.release_all()
            await self.processes.leave()
            await self.processes.forget_dead(FORGET_AFTER_S)
        except Exception as exc:
            log.warning("could not sign off in the database (%s); others take over when the lease runs out", exc)
