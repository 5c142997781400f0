"""After a start (or a gateway session that could not be resumed): finish what a crash interrupted and
read what was said while the bot was away. Discord does not replay events a bot missed."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

import discord

from agent.member_texts import EXPIRED_NOTE
from agent.memory.processes import Processes
from agent.memory.progress import MessageState, Progress, Unfinished
from agent.rules import addresses_bot
from agent.services import Services
from discord_adapter.arrivals import Arrivals
from discord_adapter.inbox import Inbox, stage
from discord_adapter.missed import missed_messages, notes_by_question
from discord_adapter.queues import ChannelQueues, Job
from discord_adapter.shard_hold import ShardHold, shard_of
from discord_adapter.snowflakes import storable
from discord_adapter.stream import IN_PROGRESS, ChannelBudget
from discord_adapter.translate import Translator
from discord_adapter.unrecorded import last_known_moment, unrecorded_channels

log = logging.getLogger(__name__)

# Channels with a recorded message this recent are read for what was missed while the bot was down.
CATCH_UP_DAYS = 7
# How far after an interrupted question to look for a reply posted just before the crash.
REPLY_SEARCH = 50

Channel = discord.abc.GuildChannel | discord.Thread | discord.abc.PrivateChannel


class Recovering(Protocol):
    """What a recovery pass uses of the running bot (the client implements it)."""

    services: Services
    queues: ChannelQueues
    inbox: Inbox
    processes: Processes
    progress: Progress
    budget: ChannelBudget
    shard_hold: ShardHold
    arrivals: Arrivals
    first_live: dict[int, int]
    translate: Translator

    @property
    def shard_ids(self) -> list[int] | None: ...

    @property
    def shard_count(self) -> int | None: ...

    @property
    def user(self) -> discord.ClientUser | None: ...

    @property
    def guilds(self) -> Sequence[discord.Guild]: ...

    def uptime(self) -> float: ...

    def get_channel(self, id: int, /) -> Channel | None: ...

    async def fetch_channel(self, channel_id: int, /) -> Channel: ...


async def fetch_message(bot: Recovering, channel_id: int, message_id: int) -> discord.Message | None:
    channel = bot.get_channel(channel_id)
    try:
        if channel is None:
            channel = await bot.fetch_channel(channel_id)
        if not isinstance(channel, discord.abc.Messageable):
            return None
        return await channel.fetch_message(message_id)
    except discord.HTTPException:
        return None


async def resume_unfinished(bot: Recovering, *, orphans_only: bool = False) -> tuple[int, int]:
    """Queue questions that were waiting or being answered; close the too-old ones. (resumed, expired)

    Only this process's shards, and never a question another live process is answering (several
    processes, one bot). `orphans_only`: just those whose process has died since it claimed them."""
    window = bot.services.settings.resume_window
    now = datetime.now(UTC)
    busy = bot.queues.pending_ids() | bot.inbox.in_hand
    live = frozenset(await bot.processes.live_ids())
    resumed = expired = 0
    for row in await bot.progress.unfinished():
        if row.message_id in busy or not serves(bot, row.guild_id):
            continue
        if row.holder is not None and row.holder in live:
            continue  # a live process (this one included) is on it
        if orphans_only and row.holder is None:
            continue
        if now - row.created_at > window:
            if await claim_unfinished(bot, row, live, to="expired"):  # once, by one process
                bot.inbox.release(row.message_id)
                await close_interrupted(bot, row)
                expired += 1
            continue
        if not await claim_unfinished(bot, row, live):
            continue  # taken meanwhile: a press of its approval, the live path, or another process
        message = await fetch_message(bot, row.channel_id, row.message_id)
        if message is None:  # deleted, or the channel is gone: nobody to answer
            await bot.inbox.mark(row.message_id, "skipped", sources=("answering",))
            bot.inbox.release(row.message_id)
            continue
        parts = row.reply_parts
        if row.state in ("answering", "retrying") and not parts:
            parts = await posted_before_the_crash(bot.user, message)
        await bot.queues.submit(Job(bot.translate(message), message, parts, resumed=True))
        resumed += 1
    return resumed, expired


def serves(bot: Recovering, guild_id: int | None) -> bool:
    """Whether this process's shards receive this server (direct messages: shard 0), so its
    interrupted questions are this process's to resume, not another's still running."""
    shards = bot.shard_ids  # None: this process holds every shard
    return shards is None or shard_of(guild_id, bot.shard_count) in shards


async def claim_unfinished(
    bot: Recovering, row: Unfinished, live: frozenset[str], to: MessageState = "answering"
) -> bool:
    """Take an interrupted question for this process, once: in memory before any await (so a press or
    the live path in this process sees it taken), then in the record, compared with the state and the
    moment it was set as read, so another process resuming the same row loses. A state set since this
    process started is left alone unless the process holding it has stopped beating."""
    if not serves(bot, row.guild_id):
        return False
    started = datetime.now(UTC) - timedelta(seconds=bot.uptime())
    return await bot.inbox.take(
        row.message_id, (stage(row.state),), to, seen_at=row.state_at, set_before=started, live=live
    )


async def posted_before_the_crash(me: discord.ClientUser | None, question: discord.Message) -> tuple[int, ...]:
    """A reply Discord accepted just before a kill, before its id reached the record: found in the
    channel's history, so the resumed run finishes it in place instead of posting a second answer."""
    assert me is not None
    try:
        async for message in question.channel.history(after=question, limit=REPLY_SEARCH, oldest_first=True):
            reference = message.reference
            if message.author.id == me.id and reference is not None and reference.message_id == question.id:
                return (message.id,)
    except discord.HTTPException as exc:
        log.warning("could not look for an interrupted reply to %s: %s", question.id, exc)
    return ()


async def close_interrupted(bot: Recovering, row: Unfinished) -> None:
    """An expired question gets no late answer; a half-written reply loses its marker and says why it
    stops there."""
    if not row.reply_parts:
        return
    part = await fetch_message(bot, row.channel_id, row.reply_parts[-1])
    if part is None:
        return
    text = part.content.removesuffix(IN_PROGRESS).rstrip()
    try:
        async with bot.budget.turn(row.channel_id):
            await part.edit(content=(text + EXPIRED_NOTE)[-2000:])
    except discord.HTTPException as exc:
        log.warning("could not close the interrupted reply %s: %s", part.id, exc)


async def catch_up(bot: Recovering, shards: frozenset[int] | None = None) -> tuple[int, int]:
    """Record every message missed in each active channel (of `shards`, when given: the shards that
    reconnected), and in each readable channel the record holds nothing from where something was said
    since the bot last saw the shard (see `unrecorded`); queue the addressed ones still worth answering.

    Missed means missing from the record, wherever it is: after the newest recorded message (downtime)
    or before it (a write lost to a database fault). Returns (recorded, queued)."""
    settings = bot.services.settings
    limit = settings.catchup_messages
    if limit == 0:
        return 0, 0
    now = datetime.now(UTC)
    since = now - timedelta(days=CATCH_UP_DAYS)
    latest = await bot.progress.latest_per_channel(since, bot.first_live)
    reads = dict.fromkeys(latest, since)  # channel → how far back to read
    moment = last_known_moment(bot.shard_hold.away_since, shards, latest, bot.shard_hold.unheld_since)
    if moment is not None:
        for unknown in await unrecorded_channels(bot.guilds, bot.services.record, shards, latest, max(moment, since)):
            reads[unknown.id] = max(moment, since)
    recorded = queued = 0
    for channel_id in sorted(reads):
        channel = bot.get_channel(channel_id)
        if not isinstance(channel, discord.abc.Messageable):
            continue
        guild = getattr(channel, "guild", None)
        if shards is not None and (guild.shard_id if guild is not None else 0) not in shards:
            continue  # another shard's channel: it missed nothing
        try:
            missed = await missed_messages(
                channel,
                before=bot.first_live.get(channel_id),
                since=reads[channel_id],
                limit=limit,
                known=bot.progress.known,
                in_memory=bot.inbox.in_hand | bot.services.record.pending_ids(),
            )
        except discord.HTTPException as exc:
            log.warning("catch-up: cannot read channel %s: %s", channel_id, exc)
            continue
        answering = 0
        waiting_lines = notes_by_question(missed)
        for message in missed:
            if not storable(message):  # an id the record cannot hold: dropped, as at the gateway
                log.warning("catch-up: a message in channel %s dropped: an id out of range", channel_id)
                continue
            event = bot.translate(message)
            if message.author.bot:
                await bot.arrivals.through_graph(event)
            elif addresses_bot(event) and now - message.created_at <= settings.resume_window:
                # The live path's arrival step (the access rules may keep it out of the record), queued at once.
                await bot.arrivals.arrive(Job(event, message, waiting_lines.get(message.id, ())), bot.queues.submit)
                answering += 1
            else:  # recorded, never answered; a record that is away keeps it and writes it once back
                await bot.inbox.arrive_as(event, "skipped", keep_if_unsure=True)
            recorded += 1
        queued += answering
        if missed:
            log.info("catch-up: channel %s: %d missed message(s), %d to answer", channel_id, len(missed), answering)
    return recorded, queued
