"""One run at a time per channel, with a bounded queue of waiting messages."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

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


Handler = Callable[[Job], Awaitable[None]]
Overflow = Callable[[Job], Awaitable[None]]


# Chatter that the cheap rules settle is cheap to queue; this only guards memory in a flood.
HARD_CAP = 1000


class ChannelQueues:
    """Messages on one channel run in order, never overlapping; channels run side by side.

    `size` bounds the messages waiting for an answer (addressed to the bot) per channel; other
    messages always queue, up to HARD_CAP, so they are recorded in order through the graph.
    """

    def __init__(self, size: int, handle: Handler, overflow: Overflow, superseded: Handler) -> None:
        self.size = size
        self._handle = handle
        self._overflow = overflow
        self._superseded = superseded
        self._queues: dict[int, asyncio.Queue[Job]] = {}
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._asking: dict[int, int] = {}
        self._current: dict[int, Job] = {}  # the job each channel's worker is running
        self.accepting = True

    def depth(self, channel_id: int) -> int:
        queue = self._queues.get(channel_id)
        return queue.qsize() if queue else 0

    def depths(self) -> dict[int, int]:
        return {cid: q.qsize() for cid, q in self._queues.items() if q.qsize()}

    def pending_ids(self) -> set[int]:
        """Messages queued or running now (a second resume pass must not queue them twice)."""
        waiting = {job.event.message_id for q in self._queues.values() for job in list(q._queue)}  # type: ignore[attr-defined]
        return waiting | {job.event.message_id for job in self._current.values()}

    async def stop(self, grace_s: float) -> int:
        """Stop starting runs; wait up to `grace_s` for the running ones, then cancel them.

        Returns how many were cancelled. Queued jobs stay unstarted (their messages stay `waiting` in
        the record, and the next start resumes them)."""
        self.accepting = False
        running = [w for w in self._workers.values() if not w.done()]
        if not running:
            return 0
        _, late = await asyncio.wait(running, timeout=grace_s)
        for worker in late:
            worker.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        return len(late)

    async def submit(self, job: Job) -> None:
        if not self.accepting:
            return  # shutting down: the message is stored as waiting, and the next start resumes it
        channel_id = job.event.channel_id
        queue = self._queues.setdefault(channel_id, asyncio.Queue(HARD_CAP))
        asking = addresses_bot(job.event)
        # `size` counts messages waiting behind a run; on an idle channel the first one runs at once.
        room = self.size if channel_id in self._current else self.size + 1
        if (asking and not job.resumed and self._asking.get(channel_id, 0) >= room) or queue.full():
            await self._overflow(job)
            return
        if asking:
            self._asking[channel_id] = self._asking.get(channel_id, 0) + 1
        queue.put_nowait(job)
        worker = self._workers.get(channel_id)
        if worker is None or worker.done():
            self._workers[channel_id] = asyncio.create_task(self._work(channel_id, queue))

    async def _work(self, channel_id: int, queue: asyncio.Queue[Job]) -> None:
        while not queue.empty() and self.accepting:
            job = queue.get_nowait()
            self._current[channel_id] = job
            if addresses_bot(job.event):
                self._asking[channel_id] -= 1
            try:
                if self._asked_again(job, queue):
                    await self._superseded(job)
                else:
                    await self._handle(job)
            except Exception:
                log.exception("run failed on channel %s", channel_id)
            finally:
                self._current.pop(channel_id, None)
                queue.task_done()

    @staticmethod
    def _asked_again(job: Job, queue: asyncio.Queue[Job]) -> bool:
        """The same member addressed the bot again while this waited: answer the newer one."""
        if not addresses_bot(job.event):
            return False
        waiting = list(queue._queue)  # type: ignore[attr-defined]  # a peek; asyncio.Queue has no API for it
        return any(later.event.author_id == job.event.author_id and addresses_bot(later.event) for later in waiting)

    async def drain(self) -> None:
        """Wait until every queued message has been handled (tests, shutdown)."""
        for queue in list(self._queues.values()):
            await queue.join()
