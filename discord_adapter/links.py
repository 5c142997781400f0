"""Messages a member links to (agent/links.py finds the links), brought into the Event the graph reads,
only where the member may read them: the same server, a channel they can view with its history (Discord's
permissions, discord_adapter/rights.py). Read from the record when it holds the message, else from
Discord; text files attached to it are read the way the bot reads a member's own (agent/attachments).
Whatever could not be read becomes one short line that names no channel and quotes nothing."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import discord

from agent.attachments.read import Limits, not_read, read_attachment, unread
from agent.events import Attachment, Event, LinkedMessage
from agent.links import MessageLink, find_links
from agent.member_texts import without_notes
from agent.memory.record import Record
from agent.memory.record.reads import StoredMessage
from agent.rules import addresses_bot
from discord_adapter.rights import may_read_history

log = logging.getLogger(__name__)

# What the model reads for a link not brought in. One line for "no access" and "no such channel" alike,
# so it tells nothing about a place the member cannot see.
UNREADABLE = LinkedMessage(not_read="a message I could not read")
GONE = LinkedMessage(not_read="a message that no longer exists")
ELSEWHERE = LinkedMessage(not_read="a message in another server (not read)")
PRIVATE = LinkedMessage(not_read="a direct message (not read here)")

ChannelMode = Callable[[int], Awaitable[str]]


@dataclass(frozen=True)
class Origin:
    """Where a link was written and by whom: a message's, or a slash command's (`/chat`)."""

    guild: discord.Guild | None
    channel: Any
    author: discord.User | discord.Member

    @classmethod
    def of_message(cls, message: discord.Message) -> Origin:
        return cls(message.guild, message.channel, message.author)

    @classmethod
    def of_interaction(cls, interaction: discord.Interaction) -> Origin:
        return cls(interaction.guild, interaction.channel, interaction.user)


class LinkReader:
    """`await reader(message, event)`: the event with its linked messages (at most `max_links`). Read for
    a message to the bot, or any message where the judge may join in (`auto`); other chatter costs nothing."""

    def __init__(
        self,
        record: Record,
        translate: Callable[[discord.Message], Event],
        limits: Limits,
        max_links: int,
        mode: ChannelMode,
    ) -> None:
        self.record = record
        self.translate = translate
        self.limits = limits
        self.max_links = max_links
        self.mode = mode

    async def __call__(self, message: discord.Message, event: Event) -> Event:
        links = find_links(event.text)
        if not links or self.max_links <= 0:
            return event
        if not addresses_bot(event) and await self.mode(event.channel_id) != "auto":
            return event
        return await self._with_links(Origin.of_message(message), event, links)

    async def for_command(self, interaction: discord.Interaction, event: Event) -> Event:
        """`/chat`'s prompt with the messages it links to, read as the member who ran it may read them."""
        links = find_links(event.text)
        if not links or self.max_links <= 0:
            return event
        return await self._with_links(Origin.of_interaction(interaction), event, links)

    async def _with_links(self, origin: Origin, event: Event, links: list[MessageLink]) -> Event:
        kept = links[: self.max_links]
        linked = await asyncio.gather(*(self._one(origin, link) for link in kept))
        return event.model_copy(update={"linked": list(linked), "links_left_out": len(links) - len(kept)})

    async def _one(self, origin: Origin, link: MessageLink) -> LinkedMessage:
        try:
            return await self._read(origin, link)
        except Exception as exc:  # one unreadable link never costs the answer
            log.warning("linked message not read: %s", type(exc).__name__)
            return UNREADABLE

    async def _read(self, origin: Origin, link: MessageLink) -> LinkedMessage:
        guild = origin.guild
        channel: Any
        if link.guild_id is None:
            # A direct message only from that same conversation: never surfaced in a server's channel.
            if guild is not None or origin.channel is None or link.channel_id != origin.channel.id:
                return PRIVATE
            channel, name = origin.channel, None
        elif guild is None or link.guild_id != guild.id:
            return ELSEWHERE
        else:
            channel = await _channel(guild, link.channel_id)
            if channel is None or not may_read_history(origin.author, channel, origin.channel):
                return UNREADABLE
            name = getattr(channel, "name", None)
        stored = await self.record.message_in(link.channel_id, link.message_id)
        if stored is not None and stored.deleted:
            return GONE
        if stored is not None and not any(unread(a) for a in stored.attachments):
            return _from_record(stored, name)
        # Not recorded, or with files not read yet (their addresses expire: Discord gives fresh ones).
        try:
            found = await channel.fetch_message(link.message_id)
        except discord.NotFound:
            return GONE
        except discord.HTTPException:
            return _from_record(stored, name) if stored is not None else UNREADABLE
        read = self.translate(found)
        attachments = await self._files(read.attachments)
        if stored is not None and len(stored.attachments) == len(attachments):
            texts = {i: (a.text, a.note) for i, a in enumerate(attachments) if unread(stored.attachments[i])}
            await self.record.store_attachment_texts(link.message_id, texts)
        return LinkedMessage(
            author=read.author_name,
            created_at=read.created_at,
            channel_name=name,
            text=without_notes(read.text) if read.author_is_bot else read.text,
            attachments=attachments,
        )

    async def _files(self, attachments: list[Attachment]) -> list[Attachment]:
        """Text files and PDFs read within the caps (as a member's own message's are), the rest named."""
        todo = [i for i, a in enumerate(attachments) if unread(a)]
        now, later = todo[: self.limits.per_message], todo[self.limits.per_message :]
        files = list(attachments)
        done = await asyncio.gather(*(read_attachment(files[i], self.limits) for i in now))
        for i, attachment in zip(now, done, strict=True):
            files[i] = attachment
        for i in later:
            files[i] = not_read(files[i], f"only {self.limits.per_message} files of a message are read")
        return files


def _from_record(stored: StoredMessage, channel_name: str | None) -> LinkedMessage:
    return LinkedMessage(
        author=stored.author,
        created_at=stored.created_at,
        channel_name=channel_name,
        text=stored.text,
        attachments=stored.attachments,
    )


async def _channel(guild: discord.Guild, channel_id: int) -> Any:
    """The guild's channel or thread; an archived thread is not cached, so it is asked for (None: no
    such channel in this guild, or the bot may not see it)."""
    channel = guild.get_channel_or_thread(channel_id)
    if channel is not None:
        return channel
    try:
        return await guild.fetch_channel(channel_id)
    except (discord.HTTPException, discord.InvalidData):
        return None
