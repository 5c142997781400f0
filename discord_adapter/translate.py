"""discord.py objects → platform-neutral Events. No decisions here."""

from __future__ import annotations

from typing import Any

import discord

from agent.events import Attachment, Event


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
        channel_parents=channel_parents(channel),
        **member_rights(message),
    )


def channel_parents(channel: Any) -> list[int]:
    """A thread's channel and the category above: access lists name either."""
    parents: list[int] = []
    if isinstance(channel, discord.Thread):
        if channel.parent_id:
            parents.append(channel.parent_id)
        channel = channel.parent
    category_id = getattr(channel, "category_id", None)
    if category_id:
        parents.append(category_id)
    return parents


def member_rights(message: discord.Message) -> dict[str, Any]:
    """What the author may read and manage, from Discord's permissions: tools check these in code."""
    author, guild = message.author, message.guild
    if author.bot:
        return {}
    if guild is None or not isinstance(author, discord.Member):
        return {"readable_channel_ids": [message.channel.id]}
    readable = {c.id for c in guild.channels if c.permissions_for(author).read_messages}
    # Threads follow their parent channel (private threads: only those the member was shown in).
    readable |= {t.id for t in guild.threads if t.parent_id in readable and not t.is_private()}
    readable.add(message.channel.id)
    return {
        "author_can_manage": author.guild_permissions.manage_guild,
        "readable_channel_ids": sorted(readable),
        "author_role_ids": [role.id for role in author.roles if not role.is_default()],
    }
