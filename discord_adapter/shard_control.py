"""Connect or drop one shard while the client runs (the automatic layout hands shards over).

discord.py connects a fixed list of shards at start; `launch_shard` (public) adds one later. Dropping
one closes its gateway connection and forgets it and its guilds, so nothing from it is served from a
stale cache. The one private name used, the client's shard map, is read in one place: here.
"""

from __future__ import annotations

import logging
from typing import Protocol

import discord
from discord.gateway import DiscordWebSocket

from agent.memory.processes import Me
from agent.services import reread_quotas
from discord_adapter.recovery import Recovering, resume_unfinished

log = logging.getLogger(__name__)


def _shard_map(client: discord.AutoShardedClient) -> dict[int, object]:
    shards: dict[int, object] = client._AutoShardedClient__shards  # type: ignore[attr-defined]
    return shards


def _set_held(client: discord.AutoShardedClient, shard_ids: set[int]) -> None:
    client.shard_ids = sorted(shard_ids)
    client._connection.shard_ids = client.shard_ids


def held(client: discord.AutoShardedClient) -> set[int]:
    return set(client.shard_ids or ())


async def add_shard(client: discord.AutoShardedClient, shard_id: int) -> None:
    """Connect `shard_id` (IDENTIFY); its READY starts a recovery pass like any new session."""
    if shard_id in _shard_map(client):
        return
    _set_held(client, held(client) | {shard_id})
    await client.launch_shard(DiscordWebSocket.DEFAULT_GATEWAY, shard_id)


async def drop_shard(client: discord.AutoShardedClient, shard_id: int) -> None:
    """Close `shard_id`'s connection and forget its guilds; replies already running finish."""
    _set_held(client, held(client) - {shard_id})
    info = client.get_shard(shard_id)
    if info is not None:
        await info.disconnect()
    _shard_map(client).pop(shard_id, None)
    state = client._connection
    for guild in list(client.guilds):
        if guild.shard_id == shard_id:
            state._remove_guild(guild)


class ShardOwner(Recovering, Protocol):
    """What handing shards over uses of the running bot, besides its discord.py client."""

    me: Me

    def is_ready(self) -> bool: ...


class BotShards:
    """The bot as the shard keeper sees it (discord_adapter/shard_keeper.py)."""

    def __init__(self, client: discord.AutoShardedClient, bot: ShardOwner) -> None:
        self.client = client
        self.bot = bot

    def held(self) -> set[int]:
        return held(self.client)

    async def add(self, shard_id: int) -> None:
        # Its old holder stopped at most two leases ago (one to expire, one beat to notice): what was
        # said since then in its servers is read by the recovery pass its READY starts.
        self.bot.shard_hold.taken_over(shard_id, 2 * self.bot.processes.lease_seconds)
        services = self.bot.services
        await reread_quotas(services.gate, services.record)
        await add_shard(self.client, shard_id)

    async def drop(self, shard_id: int) -> None:
        await drop_shard(self.client, shard_id)
        # Messages it delivered and this process holds back: still this process's to answer (they are
        # its in the record), queued now, in order; a claim keeps them from being answered twice.
        for job in self.bot.shard_hold.forget(shard_id):
            await self.bot.queues.submit(job)

    async def abandon_taken(self) -> None:
        """After a silence longer than the lease: stop the runs whose questions another process took."""
        bot = self.bot
        holders = await bot.progress.holders(bot.queues.running_ids())
        taken = {mid for mid, holder in holders.items() if holder is not None and holder != bot.me.id}
        if taken and (cancelled := await bot.queues.cancel(taken)):
            log.warning("%d answer(s) stopped: another process took them over while this one was silent", cancelled)
        bot.inbox.release_all(taken)

    async def resume_orphans(self) -> None:
        """Questions whose process died after claiming them, in our shards: resumed here, once."""
        if not self.bot.is_ready():
            return
        resumed, expired = await resume_unfinished(self.bot, orphans_only=True)
        if resumed or expired:
            log.info("%d question(s) of a stopped process resumed, %d too old and closed", resumed, expired)
