"""After a start (or a gateway session that could not be resumed): finish what a crash interrupted and
read what was said while the bot was away. Discord does not replay events a bot missed."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import discord

from agent.member_texts import EXPIRED_NOTE
from agent.memory.progress import Unfinished
from agent.rules import addresses_bot
from discord_adapter.queues import Job
from discord_adapter.stream import IN_PROGRESS

if TYPE_CHECKING:
    from discord_adapter.client import ObserverBot

log = logging.getLogger(__name__)

# Channels with a recorded message this recent are read for what was missed while the bot was down.
CATCH_UP_DAYS = 7
# How far after an interrupted question to look for a reply posted just before the crash.
REPLY_SEARCH = 50


async def fetch_message(bot: ObserverBot, channel_id: int, message_id: int) -> discord.Message | None:
    channel = bot.get_channel(channel_id)
    try:
        if channel is None:
            channel = await bot.fetch_channel(channel_id)
        if not isinstance(channel, discord.abc.Messageable):
            return None
        return await channel.fetch_message(message_id)
    except discord.HTTPException:
        return None


async def resume_unfinished(bot: ObserverBot) -> tuple[int, int]:
    """Queue questions that were waiting or being answered; close the too-old ones. (resumed, expired)"""
    window = bot.services.settings.resume_window
    now = datetime.now(UTC)
    busy = bot.queues.pending_ids() | bot.in_hand
    resumed = expired = 0
    for row in await bot.progress.unfinished():
        if row.message_id in busy:
            continue
        if now - row.created_at > window:
            await expire(bot, row)
            expired += 1
            continue
        message = await fetch_message(bot, row.channel_id, row.message_id)
        if message is None:  # deleted, or the channel is gone: nobody to answer
            await bot.progress.mark(row.message_id, "skipped")
            continue
        parts = row.reply_parts
        if row.state == "answering" and not parts:
            parts = await posted_before_the_crash(bot, message)
        bot.in_hand.add(row.message_id)
        await bot.queues.submit(Job(bot.event_for(message), message, parts, resumed=True))
        resumed += 1
    return resumed, expired


async def posted_before_the_crash(bot: ObserverBot, question: discord.Message) -> tuple[int, ...]:
    """A reply Discord accepted just before a kill, before its id reached the record: found in the
    channel's history, so the resumed run finishes it in place instead of posting a second answer."""
    assert bot.user is not None
    try:
        async for message in question.channel.history(after=question, limit=REPLY_SEARCH, oldest_first=True):
            reference = message.reference
            if message.author.id == bot.user.id and reference is not None and reference.message_id == question.id:
                return (message.id,)
    except discord.HTTPException as exc:
        log.warning("could not look for an interrupted reply to %s: %s", question.id, exc)
    return ()


async def expire(bot: ObserverBot, row: Unfinished) -> None:
    """No late answer; a half-written reply loses its marker and says why it stops there."""
    await bot.progress.mark(row.message_id, "expired")
    if not row.reply_parts:
        return
    part = await fetch_message(bot, row.channel_id, row.reply_parts[-1])
    if part is None:
        return
    text = part.content.removesuffix(IN_PROGRESS).rstrip()
    await bot.budget.wait_turn(row.channel_id)
    try:
        await part.edit(content=(text + EXPIRED_NOTE)[-2000:])
    except discord.HTTPException as exc:
        log.warning("could not close the interrupted reply %s: %s", part.id, exc)


async def catch_up(bot: ObserverBot, shards: frozenset[int] | None = None) -> tuple[int, int]:
    """Record every message missed in each active channel (of `shards`, when given: the shards that
    reconnected); queue the addressed ones still worth answering.

    Returns (recorded, queued)."""
    settings = bot.services.settings
    limit = settings.catchup_messages
    if limit == 0:
        return 0, 0
    now = datetime.now(UTC)
    latest = await bot.progress.latest_per_channel(now - timedelta(days=CATCH_UP_DAYS), bot.first_live)
    recorded = queued = 0
    for channel_id, last_id in sorted(latest.items()):
        channel = bot.get_channel(channel_id)
        if not isinstance(channel, discord.abc.Messageable):
            continue
        guild = getattr(channel, "guild", None)
        if shards is not None and (guild.shard_id if guild is not None else 0) not in shards:
            continue  # another shard's channel: it missed nothing
        try:
            missed = [m async for m in channel.history(after=discord.Object(last_id), limit=limit, oldest_first=True)]
        except discord.HTTPException as exc:
            log.warning("catch-up: cannot read channel %s: %s", channel_id, exc)
            continue
        known = await bot.progress.known([m.id for m in missed])
        answering = 0
        for message in missed:
            if message.id in known:
                continue
            event = bot.event_for(message)
            if message.author.bot:
                await bot.run_graph(event)
            elif addresses_bot(event) and now - message.created_at <= settings.resume_window:
                bot.in_hand.add(event.message_id)
                await bot.services.record.store_event(event, state="waiting")
                await bot.queues.submit(Job(event, message))
                answering += 1
            else:
                await bot.services.record.store_event(event, state="skipped")
            recorded += 1
        queued += answering
        if missed:
            log.info("catch-up: channel %s: %d missed message(s), %d to answer", channel_id, len(missed), answering)
    return recorded, queued
