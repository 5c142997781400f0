"""The channel queues' three ways to end a job: answered (claimed for this process, run, a cast's next
line queued), turned away because the queue is full, or superseded by the member's newer question."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import discord

from agent.events import Event
from agent.memory.record import Record
from agent.rules import addresses_bot
from agent.threads import opens_thread
from discord_adapter.busy_notes import BusyNotes
from discord_adapter.cast_chain import next_line
from discord_adapter.edits import Edits
from discord_adapter.inbox import Inbox
from discord_adapter.queues import Job
from discord_adapter.replier import Replier, ReplyTo
from discord_adapter.retries import Retries, apologise
from discord_adapter.sinks import ReplySink
from discord_adapter.stream import ChannelBudget
from discord_adapter.threads import ThreadSink
from discord_adapter.tolerant import Reposts

log = logging.getLogger(__name__)

Backfill = Callable[[discord.Message], Awaitable[None]]  # store the context Discord has and the record lacks
Submit = Callable[[Job], Awaitable[None]]
# The event with the messages its member linked to (links.LinkReader), where they may read them.
Links = Callable[[discord.Message, Event], Awaitable[Event]]


class Answering:
    def __init__(
        self,
        inbox: Inbox,
        replier: Replier,
        retries: Retries,
        edits: Edits,
        *,
        record: Record,
        busy_notes: BusyNotes,
        budget: ChannelBudget,
        reposts: Reposts,
        backfill: Backfill,
        submit: Submit,
        chain_turns: int,
        links: Links | None = None,
        threads: bool = True,
    ) -> None:
        self.inbox = inbox
        self.replier = replier
        self.retries = retries
        self.edits = edits
        self.record = record
        self.busy_notes = busy_notes
        self.budget = budget
        self.reposts = reposts
        self.backfill = backfill
        self.submit = submit
        self.chain_turns = chain_turns
        self.links = links
        self.threads = threads  # answers may open threads where a channel's `threads` setting says so

    async def answer(self, job: Job) -> None:
        message = job.message
        assert isinstance(message, discord.Message)
        job.event = self.edits.latest(job.event)
        # A reply resumed after a restart edits its parts where they are: in the thread it opened, if any.
        opened = opened_thread(message)
        home = opened or message.channel
        resume = [home.get_partial_message(part) for part in job.resume_parts]  # type: ignore[union-attr]
        message_id = job.event.message_id
        self.inbox.hold(message_id)
        try:
            if not await self.inbox.claim_queued(message_id, resumed=job.resumed):
                return  # another process answers it (both received it): nothing spent here
            await self.backfill(message)
            if self.links is not None:
                job.event = await self.links(message, job.event)
            sink = await self._sink(message, job.event, opened)
            to = ReplyTo(job.event, sink, message.channel, resume=resume, track=True, arrived=job.arrived)
            reply = await self.replier.run(to)
            self.retries.succeeded(message_id)
            if (line := next_line(job, reply, self.chain_turns)) is not None:
                await self.submit(line)  # a character spoke: another may answer it
        except Exception as exc:
            if not await self.retries.failed(job, exc):  # a dependency was down: answered once it is back
                # Never silent: the member hears that it failed, and the record says so.
                log.exception("reply to %s failed", message_id)
                with contextlib.suppress(Exception):
                    # answering; still waiting when the claim itself failed; paused when asking for an
                    # approval failed
                    await self.inbox.mark(message_id, "failed", sources=("waiting", "answering", "paused", None))
                await apologise(self.budget, job)
        finally:
            if not self.retries.holds(message_id):
                self.inbox.release(message_id)
                self.edits.forget(message_id)

    async def _sink(self, message: discord.Message, event: Event, opened: discord.Thread | None) -> ReplySink:
        """A reply, or a new thread where the channel's threads are on (agent/threads.py); `opened`: the
        thread this answer already opened before a restart."""
        if opened is not None:
            return ThreadSink(message, self.record, event.bot_mention, self.reposts, thread=opened)
        if (
            self.threads
            and isinstance(message.channel, discord.TextChannel)
            and await opens_thread(self.record, event, datetime.now(UTC))
        ):
            return ThreadSink(message, self.record, event.bot_mention, self.reposts)
        return ReplySink(message, self.reposts)

    async def busy(self, job: Job) -> None:
        """Queue full: the message is still recorded, and a member who asked is told, never ignored."""
        await self.record.store_event(job.event)
        self.inbox.release(job.event.message_id)
        if not await self.inbox.claim_queued(job.event.message_id, resumed=job.resumed, to="failed"):
            return  # another process took it: its answer (or its note) is the member's
        if addresses_bot(job.event):
            assert isinstance(job.message, discord.Message)
            self.busy_notes.tell(job.message)
        log.warning(
            "queue full on channel %s; message %s recorded without a run", job.event.channel_id, job.event.message_id
        )

    async def superseded(self, job: Job) -> None:
        """The member asked again while this waited: keep it as context for the newer question."""
        await self.record.store_event(job.event)
        self.inbox.release(job.event.message_id)
        if not await self.inbox.claim_queued(job.event.message_id, resumed=job.resumed, to="skipped"):
            return
        log.info("message %s superseded by a newer one from the same member", job.event.message_id)


def opened_thread(message: discord.Message) -> discord.Thread | None:
    """The thread opened from `message` (its id is the message's), not the thread the message is in."""
    if message.guild is None or message.channel.id == message.id:
        return None
    return message.guild.get_thread(message.id)
