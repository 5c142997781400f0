"""Automatic threads on Discord (the rules are agent/threads.py): the answer's sink that opens a public
thread from the question, which threads are followed, and the one note to admins when the bot lacks the
permissions. A thread that cannot be opened never costs the answer: it goes inline, as without threads."""

from __future__ import annotations

import logging
from typing import Any, Literal

import discord

from agent.events import Event
from agent.member_texts import NEEDS_THREAD_PERMISSIONS
from agent.memory.record import Record
from agent.thread_titles import thread_title
from agent.threads import CLOSED_KEY, WARNED_KEY, follows_thread
from discord_adapter.sinks import ReplySink
from discord_adapter.tolerant import Reposts, mention_prefix

log = logging.getLogger(__name__)

THREAD_EXISTS = 160004  # Discord: a thread has already been created for this message
ARCHIVE_AFTER_MINUTES: Literal[60, 1440, 4320, 10080] = 1440  # a day without messages, Discord's default


def may_open_threads(channel: Any) -> bool:
    """Create Public Threads and Send Messages in Threads for the bot in `channel` (a text channel)."""
    if not isinstance(channel, discord.TextChannel):
        return False
    perms = channel.permissions_for(channel.guild.me)
    return perms.create_public_threads and perms.send_messages_in_threads


def is_followable(channel: Any) -> bool:
    """A public thread still open: not archived, not locked (the cache's view of it)."""
    return isinstance(channel, discord.Thread) and not channel.archived and not channel.locked


class ThreadDesk:
    """Which messages are in followed threads, and threads closing (archived or locked)."""

    def __init__(self, record: Record) -> None:
        self.record = record

    async def mark_followed(self, message: discord.Message, event: Event) -> Event:
        """`event` marked `in_followed_thread` when its message is in a thread the bot follows."""
        channel = message.channel
        if not is_followable(channel) or event.author_is_bot:
            return event
        assert isinstance(channel, discord.Thread)
        parent = channel.parent
        forum = isinstance(parent, discord.ForumChannel)
        me = channel.guild.me
        opened_by_bot = forum or (me is not None and channel.owner_id == me.id)
        if not await follows_thread(self.record, channel.id, channel.parent_id, opened_by_bot=opened_by_bot):
            return event
        # Only the one who asked talks to the bot without a mention: others chatting in the thread are
        # talking to each other (a mention or a reply still reaches the bot, as anywhere).
        if event.author_id != await self._asker(channel, forum):
            return event
        return event.model_copy(update={"in_followed_thread": True})

    async def _asker(self, thread: discord.Thread, forum: bool) -> int | None:
        """A forum post's author; for a thread the bot opened from a question, that question's author
        (the starter message has the thread's id)."""
        if forum:
            return thread.owner_id
        starter = thread.starter_message
        if starter is not None:
            return starter.author.id
        return await self.record.author_of(thread.id)

    async def closed(self, thread: discord.Thread) -> None:
        """A thread archived or locked: never followed again, even once a member's message reopens it."""
        if thread.archived or thread.locked:
            await self.record.update_channel_settings(thread.id, **{CLOSED_KEY: True})


class ThreadSink(ReplySink):
    """The answer goes into a public thread opened from the member's message, named after it; the first
    part mentions the member (it adds them to the thread, as a reply would ping them). Without the
    permissions, or when Discord refuses the thread, the answer is a reply as usual, and the channel is
    told once (`threads_warned` in its settings) so an admin can grant them or turn threads off."""

    def __init__(
        self,
        message: discord.Message,
        record: Record,
        bot_mention: str,
        reposts: Reposts | None = None,
        *,
        thread: discord.Thread | None = None,
    ) -> None:
        """`thread`: the one this answer already opened (a reply resumed after a restart)."""
        super().__init__(message, reposts)
        self.record = record
        self.bot_mention = bot_mention
        self.thread = thread
        # Set when the bot lacks the permissions (or Discord said 403): worth telling the channel. A
        # question deleted meanwhile (404) or another failure is not an admin's to fix.
        self._refused = False

    async def send(self, content: str, first: bool) -> Any:
        if first:
            self.thread = self.thread or await self._open()
            if self.thread is None:
                sent = await super().send(content, first)
                if self._refused:
                    await self._warn_once()
                return sent
            self._prefix = mention_prefix(self.message.author)
            pings = discord.AllowedMentions(everyone=False, roles=False, users=[self.message.author])
            sent = await self.thread.send(self._prefix + content, allowed_mentions=pings)
            self._first_id = sent.id
            return sent
        if self.thread is not None:
            return await self.thread.send(content)
        return await super().send(content, first)

    async def _open(self) -> discord.Thread | None:
        channel = self.message.channel
        if not may_open_threads(channel):
            log.info("channel %s: no permission to open threads; answering inline", channel.id)
            self._refused = True
            return None
        name = thread_title(
            self.message.clean_content, self.bot_mention, fallback=f"Question from {self.message.author.display_name}"
        )
        try:
            return await self.message.create_thread(name=name, auto_archive_duration=ARCHIVE_AFTER_MINUTES)
        except discord.Forbidden:
            log.info("channel %s: Discord refused a thread (403); answering inline", channel.id)
            self._refused = True
        except discord.HTTPException as exc:
            if exc.code == THREAD_EXISTS and self.message.guild is not None:
                existing = self.message.guild.get_thread(self.message.id)
                if existing is not None and is_followable(existing):
                    return existing
            log.warning(
                "channel %s: thread not opened (HTTP %s, code %s); answering inline", channel.id, exc.status, exc.code
            )
        return None

    async def _warn_once(self) -> None:
        channel = self.message.channel
        settings = await self.record.channel_settings(channel.id)
        if settings.get(WARNED_KEY):
            return
        await self.record.update_channel_settings(channel.id, **{WARNED_KEY: True})
        try:
            await channel.send(NEEDS_THREAD_PERMISSIONS, allowed_mentions=discord.AllowedMentions.none())
        except discord.HTTPException as exc:
            log.info("channel %s: the note on thread permissions was refused (HTTP %s)", channel.id, exc.status)
