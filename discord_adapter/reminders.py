"""Reminders and scheduled posts delivered on Discord: a reminder as one message mentioning exactly its
owner; a recurring post as a run of the reply graph (persona, quotas, access rules) written into the
channel. The bot's permission to post is checked in code where the channel is known here; Discord's own
403 is the backstop where it is not (a process not holding that server's shard)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import discord

from agent.events import Event
from agent.ids import new_snowflake
from agent.redact import redact
from agent.rights import MemberRights
from agent.schedules.scheduler import Due, ReminderScheduler, TryAgain
from agent.schedules.store import ReminderState
from agent.schedules.texts import missed_line, post_prompt, reminder_line
from discord_adapter.replier import Replier, ReplyTo
from discord_adapter.stream import ChannelBudget

log = logging.getLogger(__name__)

NOBODY = discord.AllowedMentions.none()


def only(user_id: int) -> discord.AllowedMentions:
    """Pings exactly this member: never @everyone, @here, roles or anyone else named in the text."""
    return discord.AllowedMentions(everyone=False, roles=False, users=[discord.Object(id=user_id)], replied_user=False)


class ChannelSink:
    """A scheduled post's answer: plain messages in the channel that ping nobody."""

    def __init__(self, channel: Any) -> None:
        self.channel = channel

    async def send(self, content: str, first: bool) -> Any:
        return await self.channel.send(content, allowed_mentions=NOBODY)

    async def edit(self, handle: Any, content: str) -> None:
        await handle.edit(content=content, allowed_mentions=NOBODY)

    async def delete(self, handle: Any) -> None:
        await handle.delete()


def bot_may_post(client: discord.Client, channel: Any) -> bool | None:
    """Whether the bot may send in `channel` (None: not known here, e.g. a DM or an uncached server)."""
    if not isinstance(channel, discord.abc.GuildChannel | discord.Thread):
        return None
    me = channel.guild.me
    if me is None:
        return None
    perms = channel.permissions_for(me)
    allowed = perms.send_messages_in_threads if isinstance(channel, discord.Thread) else perms.send_messages
    return bool(perms.view_channel and allowed)


class ReminderDesk:
    """What a due reminder does on Discord (`deliver`, handed to the scheduler)."""

    def __init__(self, client: discord.Client, replier: Replier, budget: ChannelBudget) -> None:
        self.client = client
        self.replier = replier
        self.budget = budget

    def _channel(self, channel_id: int) -> Any:
        return self.client.get_channel(channel_id) or self.client.get_partial_messageable(channel_id)

    async def deliver(self, due: Due) -> ReminderState:
        """Post `due`; TryAgain when Discord or the network failed in a way that passes (a 429, a 5xx, a
        timeout or a dropped connection), so the scheduler sends it again later."""
        try:
            return await self._deliver(due)
        except (discord.Forbidden, discord.NotFound):
            raise
        except discord.HTTPException as exc:
            raise TryAgain(f"Discord answered {exc.status}") from exc
        except (aiohttp.ClientError, TimeoutError, ConnectionError) as exc:
            raise TryAgain(type(exc).__name__) from exc

    async def _deliver(self, due: Due) -> ReminderState:
        row = due.reminder
        if row.private and row.kind == "remind":
            # Set in an ephemeral /chat: only the owner saw it, so only the owner is told.
            try:
                user = self.client.get_user(row.owner_id) or await self.client.fetch_user(row.owner_id)
                return await self._remind(due, await user.create_dm())
            except (discord.Forbidden, discord.NotFound):
                log.warning("reminder %s: its owner cannot be sent a direct message", row.id)
                return "failed"
        channel = self._channel(row.channel_id)
        if bot_may_post(self.client, channel) is False:
            log.warning("reminder %s: no permission to post in channel %s", row.id, row.channel_id)
            return "failed"
        try:
            if row.kind == "post":
                return await self._post(due, channel)
            return await self._remind(due, channel)
        except discord.Forbidden:
            log.warning("reminder %s: Discord refused the post in channel %s", row.id, row.channel_id)
            return "failed"

    async def _remind(self, due: Due, channel: Any) -> ReminderState:
        row = due.reminder
        if due.missed:
            assert row.due_at is not None
            body, state = missed_line(row.text, int(row.due_at.timestamp())), "missed"
        else:
            body, state = reminder_line(row.text, due.late_by), "sent"
        async with self.budget.turn(getattr(channel, "id", None) or row.channel_id):
            await channel.send(f"<@{row.owner_id}> {body}", allowed_mentions=only(row.owner_id))
        return state  # type: ignore[return-value]

    async def _post(self, due: Due, channel: Any) -> ReminderState:
        row = due.reminder
        if due.missed:  # a stale "summarise yesterday" helps nobody; the next occurrence comes
            log.info("scheduled post %s: occurrence of %s missed while offline; skipped", row.id, due.scheduled_for)
            return "missed"
        event = Event(
            platform="discord",
            message_id=new_snowflake(),
            guild_id=row.guild_id,
            channel_id=row.channel_id,
            channel_name=row.channel_name,
            is_dm=row.is_dm,
            author_id=row.owner_id,
            author_name=row.owner_name,
            text=post_prompt(row.text, row.every),
            mentions_bot=True,
            bot_user_id=self.client.user.id if self.client.user else None,
            # The admin's rights as they were when the post was set (fail closed where unknown).
            rights=MemberRights.model_validate(row.rights) if row.rights else MemberRights(),
        )
        await self.replier.run(ReplyTo(event, ChannelSink(channel)))
        return "sent"


class ReminderRunner:
    """Starts the scheduler once the bot is logged in and its servers are known (a reminder due during
    downtime fires at once, and needs both), and stops it with the bot."""

    def __init__(
        self,
        client: discord.Client,
        launched: Callable[[], Awaitable[Any]],
        scheduler: ReminderScheduler,
        desk: ReminderDesk,
    ) -> None:
        self.client = client
        self.launched = launched
        self.scheduler = scheduler
        self.desk = desk
        self._task: asyncio.Task[None] | None = None

    def begin(self) -> None:
        reminders = self.scheduler.reminders
        reminders.added.append(self.scheduler.schedule)
        reminders.cancelled.append(self.scheduler.unschedule)
        self._task = asyncio.create_task(self._start(), name="reminder scheduler start")

    async def _start(self) -> None:
        await self.launched()  # logged in, shards connecting (wait_until_ready() refuses before login)
        await self.client.wait_until_ready()
        try:
            await self.scheduler.start(self.desk.deliver)
        except Exception as exc:  # the bot still answers; reminders wait in the record for the next start
            log.error("reminders: the scheduler could not start: %s", redact(str(exc)))
            return
        log.info("reminders: scheduler started")

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.scheduler.stop()
