"""Every arriving member's message goes through the arrival step (the inbox's `arrive_as`, running
agent.arrival: into the record, or kept out of it) before it waits in a queue: live, or caught up after
downtime. When the record will not take it (database locked by
another writer, disk full, server away) for longer than its patience, the member who asked is told in
one line, the message is kept in memory, and it is queued the moment it is written: answered once the
record is back, with the answer replacing that line."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import discord

from agent.events import Event
from agent.member_texts import RECORD_DELAYED_NOTE
from agent.memory.faults import dependency_down
from agent.memory.record import Record
from agent.memory.record.delays import RecordDelayed
from agent.rules import addresses_bot
from discord_adapter.inbox import Inbox
from discord_adapter.queues import Job
from discord_adapter.shard_hold import ShardHold
from discord_adapter.stream import ChannelBudget
from discord_adapter.tolerant import reply_to

log = logging.getLogger(__name__)

Take = Callable[[Job], Awaitable[None]]
ThroughGraph = Callable[[Event], Awaitable[Any]]


class Arrivals:
    def __init__(
        self,
        record: Record,
        through: ThroughGraph,
        inbox: Inbox,
        budget: ChannelBudget,
        shard_hold: ShardHold,
        submit: Take,
    ) -> None:
        self.record = record
        self.through = through  # a message recorded through the graph, without a reply
        self.inbox = inbox
        self.budget = budget
        self.shard_hold = shard_hold
        self.submit = submit  # into the channel's queue
        self._later: set[asyncio.Task[None]] = set()

    async def arrive(self, job: Job, take: Take | None = None) -> None:
        """A member's message to answer: in hand, and arrived waiting (in the record, or kept out of it)
        before it waits in any queue (whatever kills the process, it is not lost); then queued by `take`
        (default: into its queue, or held back while its shard recovers; a recovery pass queues at
        once). While the access rules cannot be read it is kept; they apply when it is answered."""
        take = take or self.take
        self.inbox.hold(job.event.message_id)
        arrived = await self.inbox.arrive_as(job.event, "waiting", keep_if_unsure=True)
        job.event, job.arrived = arrived.event, True
        if arrived.delayed is not None:
            await self._delayed(job, arrived.delayed, take)
            return  # the record refuses it for now: kept in memory, queued once written
        await take(job)

    async def take(self, job: Job) -> None:
        """Into the channel's queue, unless its shard is recovering (then it waits for the recovery pass)."""
        guild = getattr(job.message, "guild", None)
        if not self.shard_hold.hold(guild.shard_id if guild else 0, job):
            await self.submit(job)

    async def through_graph(self, event: Event) -> None:
        """A bot's message (our own echoes included) is recorded through the graph; while the database
        is away it is kept in the record's memory instead and written once it is back."""
        try:
            await self.through(event)
        except Exception as exc:
            if not dependency_down(exc):
                raise
            log.warning("bot message %s kept in memory until the record takes it", event.message_id)
            task = asyncio.create_task(self._keep(event))
            self._later.add(task)
            task.add_done_callback(self._later.discard)

    async def _keep(self, event: Event) -> None:
        with contextlib.suppress(RecordDelayed):  # still queued in the record: written when it can be
            await self.record.store_event(event)

    async def _delayed(self, job: Job, delayed: RecordDelayed, take: Take) -> None:
        """Kept in memory by the record: the member who asked is told, and `take` queues it once written."""
        log.warning("message %s kept in memory until the record takes it: %s", job.event.message_id, delayed.cause)
        note = await self._tell(job)
        if note is not None:
            job = replace(job, resume_parts=(note,))
        task = asyncio.create_task(self._when_written(delayed.written, job, take))
        self._later.add(task)
        task.add_done_callback(self._later.discard)

    async def _tell(self, job: Job) -> int | None:
        """One line to a member who asked; its id, so the answer can replace it."""
        message = job.message
        if not addresses_bot(job.event) or not isinstance(message, discord.Message):
            return None
        try:
            async with self.budget.turn(job.event.channel_id):
                note, _ = await reply_to(message, RECORD_DELAYED_NOTE, mention_author=False)
        except discord.HTTPException as exc:
            log.warning("could not tell %s that its message waits: %s", job.event.message_id, exc)
            return None
        return note.id

    async def _when_written(self, written: asyncio.Future[str], job: Job, take: Take) -> None:
        try:
            await written
        except Exception:
            log.exception("message %s could not be written; it is not answered", job.event.message_id)
            self.inbox.release(job.event.message_id)
            return
        if job.resume_parts:
            # A restart from here on finishes the note in place instead of posting a second answer.
            try:
                await self.inbox.progress.note_reply_parts(job.event.message_id, list(job.resume_parts))
            except Exception:
                log.exception("could not note the waiting line for %s", job.event.message_id)
        await take(job)
