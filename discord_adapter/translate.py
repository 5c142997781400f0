"""discord.py objects → platform-neutral Events. No decisions here."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import discord

from agent.addressing import address_by_prefix
from agent.events import Attachment, Event
from discord_adapter.rights import message_rights


def _attachments(message: discord.Message) -> list[Attachment]:
    return [
        Attachment(
            filename=a.filename,
            content_type=a.content_type,
            size=a.size,
            url=a.url,
            is_voice=a.is_voice_message(),
            duration_s=a.duration,
        )
        for a in message.attachments
    ]


def message_text(message: discord.Message, bot_user: discord.abc.User) -> str:
    """The text as people read it: mentions become @names (the bot's own as @BotName)."""
    text = message.clean_content if message.guild is not None or message.mentions else message.content
    return (
        text.replace(f"@{bot_user.display_name}", f"@{bot_user.name}")
        if bot_user.display_name != bot_user.name
        else text
    )


def to_event(message: discord.Message, bot_user: discord.abc.User) -> Event:
    channel = message.channel
    is_dm = isinstance(channel, discord.DMChannel)
    reference = message.reference
    replied = reference.resolved if reference is not None else None
    thread_starter = channel.id if isinstance(channel, discord.Thread) and channel.parent_id else None
    return Event(
        platform="discord",
        message_id=message.id,
        guild_id=message.guild.id if message.guild else None,
        guild_name=message.guild.name if message.guild else None,
        channel_id=channel.id,
        channel_name=getattr(channel, "name", None) or ("dm" if is_dm else str(channel.id)),
        is_dm=is_dm,
        author_id=message.author.id,
        author_name=message.author.display_name,
        author_is_bot=message.author.bot,
        text=message_text(message, bot_user),
        created_at=message.created_at,
        reply_to_id=reference.message_id if reference is not None else None,
        reply_to_bot=isinstance(replied, discord.Message) and replied.author.id == bot_user.id,
        mentions_bot=any(user.id == bot_user.id for user in message.mentions),
        attachments=_attachments(message),
        bot_user_id=bot_user.id,
        bot_mention=f"@{bot_user.name}",
        thread_starter_id=thread_starter,
        rights=message_rights(message),
    )


@dataclass
class Translator:
    """A message as the bot reads it: `to_event`, with a guild's prefix command (`!chat`) taken out.
    One object, given to everything that translates (the client, backfill, recovery, /observer collect),
    so none of them calls back into the client. `user`: the bot's, set by the client once logged in."""

    prefixes: Callable[[int | None], Sequence[str]]
    user: discord.ClientUser | None = None

    def __call__(self, message: discord.Message) -> Event:
        assert self.user is not None, "a message translated before login"
        event = to_event(message, self.user)
        return address_by_prefix(event, self.prefixes(event.guild_id))
