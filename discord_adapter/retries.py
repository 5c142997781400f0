"""A question whose run failed only because a dependency was down (the database, the checkpointer,
Chroma: locked, full, restarting, unreachable) is not apologised for and forgotten: it is marked
`retrying`, the member reads one line saying the answer will come, and the run is tried again with
backoff until it succeeds or the resume window closes. The answer replaces that line (or the half-written
reply) in place, so the member ends with one answer. A restart picks `retrying` questions up like
waiting ones."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import discord

from agent.member_texts import DEPENDENCY_DOWN_NOTE, FAILED_REPLY, RECORD_DELAYED_NOTE
from agent.memory.faults import dependency_down, fault_summary
from agent.memory.progress import MessageState
from agent.rules import addresses_bot
from discord_adapter.inbox import Inbox
from discord_adapter.queues import ChannelQueues, Job
from discord_adapter.recovery import posted_before_the_crash
from discord_adapter.stream import ChannelBudget
from discord_adapter.tolerant import reply_to

log = logging.getLogger(__name__)

FIRST_PAUSE_S = 2.0
LONGEST_PAUSE_S = 10.0


class Retries:
    def __init__(
        self,
        client: discord.Client,
        resume_window: timedelta,
        inbox: Inbox,
        budget: ChannelBudget,
        queues: ChannelQueues,
    ) -> None:
        self.client = client  # its user: the reply already on screen is the bot's
        self.resume_window = resume_window
        self.inbox = inbox
        self.budget = budget
        self.queues = queues
        self._attempts: dict[int, int] = {}
        self._unmarked: set[int] = set()  # the record could not be told `retrying`: it still says answering
        self._tasks: set[asyncio.Task[None]] = set()

    def holds(self, message_id: int) -> bool:
        """A retry of this message is scheduled: it stays in the bot's hands."""
        return message_id in self._attempts

    def succeeded(self, message_id: int) -> None:
        self._attempts.pop(message_id, None)

    async def failed(self, job: Job, exc: BaseException) -> bool:
        """Take a failed run for a later retry when only a dependency was down; False: a real failure,
        the caller apologises as before."""
        event = job.event
        if not dependency_down(exc) or not addresses_bot(event) or not isinstance(job.message, discord.Message):
            self._attempts.pop(event.message_id, None)
            return False
        attempt = self._attempts.get(event.message_id, 0) + 1
        if datetime.now(UTC) - event.created_at > self.resume_window:
            self._attempts.pop(event.message_id, None)
            return False  # too late to answer: the caller's apology closes it
        self._attempts[event.message_id] = attempt
        log.warning(
            "reply to %s failed because a dependency is down (%s); retry %d scheduled",
            event.message_id,
            fault_summary(exc),
            attempt,
        )
        parts = job.resume_parts or await self._where_to_answer(job.message)
        self._unmarked.add(event.message_id)
        with contextlib.suppress(Exception):  # the database may be the dependency that is down
            # waiting when the claim itself failed; retrying when a retry's claim failed
            await self.inbox.mark(event.message_id, "retrying", sources=("waiting", "answering", "retrying"))
            self._unmarked.discard(event.message_id)
            if parts:
                await self.inbox.progress.note_reply_parts(event.message_id, list(parts))
        later = replace(job, resume_parts=parts, resumed=True)
        pause = min(LONGEST_PAUSE_S, FIRST_PAUSE_S * 2 ** (attempt - 1))
        task = asyncio.create_task(self._again(later, pause))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _where_to_answer(self, question: discord.Message) -> tuple[int, ...]:
        """The reply already on screen (half-written, or an earlier note), else a new one-line note."""
        found = await posted_before_the_crash(self.client.user, question)
        if found:
            return found
        try:
            async with self.budget.turn(question.channel.id):
                note, _ = await reply_to(question, DEPENDENCY_DOWN_NOTE, mention_author=False)
        except discord.HTTPException as exc:
            log.warning("could not tell %s that its answer waits: %s", question.id, exc)
            return ()
        return (note.id,)

    async def _again(self, job: Job, pause: float) -> None:
        await asyncio.sleep(pause)
        if not self.queues.accepting:
            return  # stopping: the record says `retrying`, and the next start resumes it
        try:
            if not await self._claim(job.event.message_id):
                self._attempts.pop(job.event.message_id, None)
                self.inbox.release(job.event.message_id)
                log.debug("retry of %s dropped: another process took the message", job.event.message_id)
                return
        except Exception as exc:
            if await self.failed(job, exc):  # the database is still away: later again
                return
        await self.queues.submit(job)

    async def _claim(self, message_id: int) -> bool:
        """Take the retried message again, so that a process that resumed it meanwhile (its restart
        saw it `retrying`) and this retry do not both answer it. Waiting: the first run's claim never
        reached the record; answering: neither did `retrying`, so the record still shows our claim."""
        states: tuple[MessageState, ...] = ("retrying", "waiting")
        if message_id in self._unmarked:
            states += ("answering",)
        self._unmarked.discard(message_id)
        return await self.inbox.claim(message_id, states)


async def apologise(budget: ChannelBudget, job: Job) -> None:
    """A real failure: the member hears it, in place of a waiting line if one was shown."""
    message = job.message
    if not addresses_bot(job.event) or not isinstance(message, discord.Message):
        return
    with contextlib.suppress(discord.HTTPException):
        if job.resume_parts:
            part = await message.channel.fetch_message(job.resume_parts[0])
            if part.content in (DEPENDENCY_DOWN_NOTE, RECORD_DELAYED_NOTE):
                async with budget.turn(job.event.channel_id):
                    await part.edit(content=FAILED_REPLY)
                return
        async with budget.turn(job.event.channel_id):
            await reply_to(message, FAILED_REPLY, mention_author=False)
