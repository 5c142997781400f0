"""Context Discord has and the record lacks: the messages a reply points at, and a thread's starter."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

import discord

from agent.events import Event
from agent.memory.record import Record

log = logging.getLogger(__name__)


async def backfill_context(
    record: Record, limit: int, translate: Callable[[discord.Message], Event], message: discord.Message
) -> None:
    """Store replied-to messages (and a thread's starter) the record has not seen, up to `limit` deep;
    `translate` (translate.Translator) reads each as an Event."""
    reference = message.reference
    for depth in range(limit + 1):
        if reference is None or reference.message_id is None:
            return
        if depth == limit:
            log.info("reply chain of %s cut at %d messages", message.id, limit)
            return
        if await record.message(reference.message_id) is not None:
            return
        target = reference.resolved if isinstance(reference.resolved, discord.Message) else None
        if target is None:
            try:
                target = await message.channel.fetch_message(reference.message_id)
            except discord.HTTPException:
                return
        await record.store_event(translate(target))
        reference = target.reference
    channel = message.channel
    if isinstance(channel, discord.Thread) and channel.parent is not None:
        if await record.message(channel.id) is None:
            with contextlib.suppress(discord.HTTPException):
                starter = channel.starter_message or await channel.parent.fetch_message(channel.id)  # type: ignore[union-attr]
                await record.store_event(translate(starter))
