"""Channels the record holds nothing recent from, for the recovery pass: a message missed there while a
shard was away would otherwise be lost for good (catch-up reads the channels the record knows).

The bound on REST calls: a channel is read only when its `last_message_id`, which the gateway hands
over in GUILD_CREATE and keeps current (no REST call), is newer than the shard's last known moment, i.e.
only channels where something was said since the bot last saw that shard; quiet channels cost nothing.
Each such channel costs one history read back to that moment, at most OBSERVER_CATCHUP_MESSAGES long.
The channel must be one the bot may read (View Channel and Read Message History) and not turned off.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Mapping
from datetime import UTC, datetime, timedelta

import discord

from agent.memory.record import Record

# A shard's socket may have stalled a while before discord.py noticed it was gone (a missed heartbeat):
# the away time is taken this much earlier. Reading a little more costs nothing (the record filters).
AWAY_MARGIN = timedelta(minutes=5)


def away_now() -> float:
    return time.time()


def last_known_moment(
    away_since: Mapping[int, float],
    shards: Collection[int] | None,
    latest: Mapping[int, int],
    unheld_since: Mapping[int, float] | None = None,
) -> datetime | None:
    """Since when the bot may have missed messages in the shards being recovered: the earliest time one
    of them went away; for a shard that was not seen going away (a start), the newest recorded message;
    for a shard taken over from another process, since when nobody may have held it (other processes
    keep recording meanwhile, so the newest recorded message says nothing about that shard).
    None on a first start (the record knows nothing recent): nothing to compare with, nothing read."""
    wanted = list(away_since) if shards is None else list(shards)
    moments = [datetime.fromtimestamp(away_since[s], UTC) - AWAY_MARGIN for s in wanted if s in away_since]
    unheld = unheld_since or {}
    moments += [datetime.fromtimestamp(unheld[s], UTC) - AWAY_MARGIN for s in wanted if s in unheld]
    if shards is None or any(s not in away_since for s in wanted):
        if latest:
            moments.append(discord.utils.snowflake_time(max(latest.values())))
        elif not moments:
            return None
    return min(moments) if moments else None


async def unrecorded_channels(
    guilds: Iterable[discord.Guild],
    record: Record,
    shards: Collection[int] | None,
    skip: Collection[int],
    moment: datetime,
) -> list[discord.TextChannel | discord.Thread]:
    """Readable channels (text channels and active threads) of the shards' guilds, not in `skip`, where a
    message was posted after `moment` and the bot is not turned off."""
    floor = discord.utils.time_snowflake(moment)
    found: list[discord.TextChannel | discord.Thread] = []
    for guild in guilds:
        if shards is not None and guild.shard_id not in shards:
            continue
        me = guild.me
        if me is None:
            continue
        channels: list[discord.TextChannel | discord.Thread] = [*guild.text_channels, *guild.threads]
        for channel in channels:
            if channel.id in skip or (channel.last_message_id or 0) <= floor:
                continue
            allowed = channel.permissions_for(me)
            if not (allowed.read_messages and allowed.read_message_history):
                continue
            if await record.channel_mode(channel.id) == "off":
                continue
            found.append(channel)
    return found
