"""Replying to a member's message that may be gone by the time the answer is ready.

Automod deletes it, or a proxy bot (PluralKit, Tupperbox) deletes it and reposts it through a
webhook. Discord then refuses a reply with 400 "Invalid Form Body" (code 50035, "Unknown message" in
`message_reference`). The answer still arrives: as a reply to the proxy's repost when there is one,
else as a plain message that mentions the member."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import discord

log = logging.getLogger(__name__)

INVALID_FORM_BODY = 50035
UNKNOWN_MESSAGE = 10008
# "<@" + a snowflake of up to 20 digits + "> ": what a plain message needs to mention the member.
MENTION_ROOM = 24

Reposts = Callable[[int], "discord.Message | None"]


def reference_is_gone(exc: discord.HTTPException) -> bool:
    """Discord's answer to a reply it cannot attach: the message no longer exists (50035 "Unknown message"
    in `message_reference`, or on some paths 10008 Unknown Message), or it is a system message."""
    if exc.code == UNKNOWN_MESSAGE:
        return True
    return exc.status == 400 and exc.code == INVALID_FORM_BODY and "message_reference" in (exc.text or "")


def mention_prefix(member: discord.abc.User) -> str:
    return f"<@{member.id}> "


async def reply_to(
    message: discord.Message,
    content: str | None = None,
    *,
    mention_author: bool = True,
    reposts: Reposts | None = None,
    allowed_mentions: discord.AllowedMentions | None = None,
    **kwargs: Any,
) -> tuple[discord.Message, str]:
    """Reply to `message`, tolerating its deletion. Returns the message posted and the text put before
    `content` (the member's mention, in a plain message; later edits must keep it)."""
    if allowed_mentions is not None:
        kwargs["allowed_mentions"] = allowed_mentions
    try:
        return await message.reply(content, mention_author=mention_author, **kwargs), ""
    except discord.HTTPException as exc:
        if not reference_is_gone(exc):
            raise
    repost = reposts(message.id) if reposts is not None else None
    if repost is not None:
        log.info("message %s was reposted by a proxy as %s: replying to the repost", message.id, repost.id)
        try:
            return await repost.reply(content, mention_author=False, **kwargs), ""
        except discord.HTTPException as exc:
            if not reference_is_gone(exc):
                raise
    log.info("message %s was deleted before its reply: posting it with a mention instead", message.id)
    prefix = mention_prefix(message.author) if mention_author else ""
    pings = discord.AllowedMentions(everyone=False, roles=False, users=[message.author] if mention_author else False)
    text = prefix + content if content else (prefix.strip() or None)
    kwargs["allowed_mentions"] = pings if mention_author or allowed_mentions is None else allowed_mentions
    return await message.channel.send(text, **kwargs), prefix
