"""Per-channel scheduling: members' questions run side by side, each member's messages in order."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

from agent.events import Event
from agent.rules import addresses_bot

log = logging.getLogger(__name__)


@dataclass
class Job:
    event: Event
    message: object  # the discord.Message, for replying
    # Platform ids of reply parts posted before a restart: the resumed run edits them in place.
    resume_parts: tuple[int, ...] = ()
    # Accepted before a restart: it is queued whatever the bound, never turned away a second time.
    resumed: bool = False
    # Through the arrival step (agent.arrival) on the way in: the graph's ingest does not repeat it.
    arrived: bool = False


class JobEnds(Protocol):
    """The three ways a queued job ends (answering.Answering)."""

    async def answer(self, job: Job) -> None: ...

    async def busy(self, job: Job) -> None:
        """Turned away: the channel's queue is full."""

    async def superseded(self, job: Job) -> None:
        """The member asked again while this waited."""


# Chatter that the cheap rules settle is cheap to queue; this only guards memory in a flood.
HARD_CAP = 1000


@dataclass
class _Channel:
    waiting: deque[Job] = field(default_factory=deque)
    running: dict[int, tuple[Job, asyncio.Task[None]]] = field(default_factory=dict)  # by message id
    asking: int = 0  # waiting messages addressed to the bot
    idle: asyncio.Event = field(default_factory=asyncio.Event)

    def authors_running(self) -> set[int]:
        return {job.event.author_id for job, _ in self.running.values()}


class ChannelQueues:
    """Up to `parallel` runs at once per channel, so one member's question never waits for another's
    whole answer; one member's messages run in order, never overlapping; channels run side by side.

    `size` bounds the questions (addressed to the bot) waiting per channel beyond those running; other
    messages always queue, up to HARD_CAP, so they are recorded through the graph.
    """

    def __init__(self, size: int, ends: JobEnds | None = None, parallel: int = 3) -> None:
        self.size = size
        self.parallel = parallel
        # How each job ends; given once what it uses exists (it queues a cast's next line here itself).
        self.ends = ends
        self._channels: dict[int, _Channel] = {}
        self.accepting = True

    def depth(self, channel_id: int) -> int:
        channel = self._channels.get(channel_id)
        return len(channel.waiting) if channel else 0

    def depths(self) -> dict[int, int]:
        return {cid: len(c.waiting) for cid, c in self._channels.items() if c.waiting}

    def pending_ids(self) -> set[int]:
        """Messages queued or running now (a second resume pass must not queue them twice)."""
        return {job.event.message_id for c in self._channels.values() for job in c.waiting} | {
            message_id for c in self._channels.values() for message_id in c.running
        }

    async def stop(self, grace_s: float) -> int:
        """Stop starting runs; wait up to `grace_s` for the running ones, then cancel them.

        Returns how many were cancelled. Queued jobs stay unstarted (their messages stay `waiting` in
        the record, and the next start resumes them)."""
        self.accepting = False
        running = [task for c in self._channels.values() for _, task in c.running.values() if not task.done()]
        if not running:
            return 0
        _, late = await asyncio.wait(running, timeout=grace_s)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        return len(late)

    def running_ids(self) -> set[int]:
        return {message_id for c in self._channels.values() for message_id in c.running}

    async def cancel(self, message_ids: set[int]) -> int:
        """Cancel the runs of these messages (another process holds them now); returns how many."""
        tasks = [task for c in self._channels.values() for mid, (_, task) in c.running.items() if mid in message_ids]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return len(tasks)

    async def submit(self, job: Job) -> None:
        if not self.accepting:
            return  # shutting down: the message is stored as waiting, and the next start resumes it
        channel = self._channels.setdefault(job.event.channel_id, _Channel())
        asking = addresses_bot(job.event)
        starts_now = self._can_start(channel, job) and not channel.waiting
        full = asking and not job.resumed and not starts_now and channel.asking >= self.size
        if full or len(channel.waiting) >= HARD_CAP:
            await self._ends().busy(job)
            return
        channel.asking += asking
        channel.waiting.append(job)
        channel.idle.clear()
        self._start_what_can(job.event.channel_id, channel)

    def _ends(self) -> JobEnds:
        assert self.ends is not None, "queues used before their jobs' ends were given"
        return self.ends

    def _can_start(self, channel: _Channel, job: Job) -> bool:
        return len(channel.running) < self.parallel and job.event.author_id not in channel.authors_running()

    def _start_what_can(self, channel_id: int, channel: _Channel) -> None:
        """Start the oldest waiting messages whose authors have nothing running, up to `parallel`."""
        while self.accepting and len(channel.running) < self.parallel:
            busy = channel.authors_running()
            job = next((j for j in channel.waiting if j.event.author_id not in busy), None)
            if job is None:
                break
            channel.waiting.remove(job)
            channel.asking -= addresses_bot(job.event)
            superseded = self._asked_again(job, channel.waiting)
            task = asyncio.create_task(self._run(channel_id, channel, job, superseded))
            channel.running[job.event.message_id] = (job, task)
        if not channel.running and not channel.waiting:
            channel.idle.set()

    async def _run(self, channel_id: int, channel: _Channel, job: Job, superseded: bool) -> None:
        try:
            ends = self._ends()
            await (ends.superseded if superseded else ends.answer)(job)
        except Exception:
            log.exception("run failed on channel %s", channel_id)
        finally:
            channel.running.pop(job.event.message_id, None)
            self._start_what_can(channel_id, channel)

    @staticmethod
    def _asked_again(job: Job, waiting: deque[Job]) -> bool:
        """The same member addressed the bot again while this waited: answer the newer one."""
        if not addresses_bot(job.event):
            return False
        return any(later.event.author_id == job.event.author_id and addresses_bot(later.event) for later in waiting)

    async def drain(self) -> None:
        """Wait until every queued message has been handled (tests, shutdown)."""
        for channel in list(self._channels.values()):
            if channel.running or channel.waiting:
                await channel.idle.wait()
