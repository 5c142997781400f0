"""Where paused runs wait for a member's verdict: posts the buttons, takes presses, denies on timeout."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import discord
from langchain_core.runnables import RunnableConfig
from langgraph.types import Command

from agent.access.gate import Gate
from agent.events import Event
from agent.member_texts import ALREADY_ANSWERED
from agent.stream import outcome_of
from agent.verdicts import ApprovalRequest, Verdict, approval, denial
from discord_adapter.approvals import Press, buttons, call_key, decided, may_answer, prompt, who_may_answer
from discord_adapter.commands.common import interaction_event
from discord_adapter.inbox import Inbox
from discord_adapter.replier import Replier, ReplyTo
from discord_adapter.sinks import ReplySink
from discord_adapter.stream import ChannelBudget
from discord_adapter.tolerant import reply_to

log = logging.getLogger(__name__)


class ApprovalDesk:
    def __init__(self, replier: Replier, inbox: Inbox, budget: ChannelBudget, gate: Gate) -> None:
        self.replier = replier
        self.inbox = inbox
        self.budget = budget
        self.gate = gate  # a press is a door: the presser's rights go through the access lists
        self._timers: dict[int, asyncio.Task[None]] = {}

    async def ask(self, event: Event, message: discord.Message, request: ApprovalRequest) -> None:
        """Post the request with its buttons (again after a restart: the old buttons keep working too)."""
        # Paused before the buttons exist: a press claims the run from here, once.
        await self.inbox.mark(event.message_id, "paused", sources=("answering", None))
        async with self.budget.turn(event.channel_id):
            posted, _ = await reply_to(
                message,
                prompt(request),
                view=buttons(event.message_id, request.call_id),
                mention_author=False,
                allowed_mentions=discord.AllowedMentions.none(),
            )
        timer = self._timers.pop(event.message_id, None)
        if timer is not None:
            timer.cancel()
        self._timers[event.message_id] = asyncio.create_task(
            self._deny_later(event.message_id, message, posted, request, float(request.timeout_s))
        )

    async def pending(self, message_id: int) -> tuple[ApprovalRequest | None, Event | None]:
        """The request this message's paused run waits on, and the message's event (None when none waits)."""
        config = RunnableConfig(configurable={"thread_id": f"reply:{message_id}"})
        saved = await self.replier.graph.aget_state(config)
        for pause in saved.interrupts:
            request = ApprovalRequest.of(pause.value)
            if request is not None:
                return request, outcome_of(saved.values).event
        return None, None

    async def on_press(self, interaction: discord.Interaction, press: Press) -> None:
        """A press of an approval button (`approvals.ApprovalButton`, parsed from its custom id)."""
        message_id, key, approve = press.message_id, press.key, press.approve
        request, event = await self.pending(message_id)
        if request is None or event is None or call_key(request.call_id) != key:
            await interaction.response.send_message(ALREADY_ANSWERED, ephemeral=True)
            return
        presser = interaction_event(interaction, "")  # the presser's rights, built as for any door input
        if not may_answer(request, presser.author_id, presser.rights):
            await interaction.response.send_message(f"Only {who_may_answer(request)} can answer this.", ephemeral=True)
            return
        # A press is a door too: the presser's rights go through the same access lists as a message.
        refused = await self.gate.turned_away(presser)
        if refused is not None:
            await interaction.response.send_message(refused, ephemeral=True)
            return
        if not await self.claim(message_id):
            await interaction.response.send_message(ALREADY_ANSWERED, ephemeral=True)
            return
        try:
            by = interaction.user.display_name
            verdict = approval(by) if approve else denial(f"{by} denied it", by)
            try:
                await interaction.response.edit_message(content=decided(request, approve, by), view=None)
            except discord.HTTPException as exc:  # the verdict stands; only showing it failed
                log.warning("approval for %s: could not update the buttons: %s", message_id, exc)
            channel = interaction.channel
            if channel is None or not hasattr(channel, "fetch_message"):
                return
            try:
                message = await channel.fetch_message(message_id)
            except discord.HTTPException:
                log.warning("approval for %s: the member's message is gone; the run is dropped", message_id)
                await self.inbox.mark(message_id, "failed", sources=("answering",))
                return
            await self.resume(event, message, verdict)
        finally:
            self.release(message_id)

    async def claim(self, message_id: int) -> bool:
        """First one wins: in this process before any await (a set), then in the record (a conditional
        UPDATE from "paused"), so two presses, a press and the timeout, a press and a restart's resume,
        or presses handled by two processes sharing the database resume the run exactly once."""
        return await self.inbox.take(message_id, ("paused",))  # in hand: a recovery pass never starts it

    def release(self, message_id: int) -> None:
        self.inbox.release(message_id)

    async def resume(self, event: Event, message: discord.Message, verdict: Verdict) -> None:
        """Resume a run this process has claimed (`claim`)."""
        timer = self._timers.pop(event.message_id, None)
        if timer is not None and timer is not asyncio.current_task():
            timer.cancel()
        try:
            resumed = ReplyTo(event, ReplySink(message), message.channel, track=True, command=Command(resume=verdict))
            await self.replier.run(resumed)
        except Exception:
            log.exception("resuming %s after an approval failed", event.message_id)

    async def _deny_later(
        self,
        message_id: int,
        message: discord.Message,
        posted: discord.Message,
        request: ApprovalRequest,
        after: float,
    ) -> None:
        await asyncio.sleep(after)
        current, event = await self.pending(message_id)
        if current is None or event is None or current.call_id != request.call_id:
            return
        if not await self.claim(message_id):
            return  # answered meanwhile, here or by another process
        try:
            reason = f"no answer within {after / 60:.0f} min" if after >= 60 else f"no answer within {after:g} s"
            with contextlib.suppress(discord.HTTPException):
                async with self.budget.turn(posted.channel.id):
                    await posted.edit(content=f"⌛ {decided(request, False, 'timeout')} ({reason})", view=None)
            await self.resume(event, message, denial(reason))
        finally:
            self.release(message_id)

    def close(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
