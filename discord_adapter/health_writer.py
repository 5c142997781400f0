"""Writes the health file (agent/health_file.py) while `observer run` runs: each shard's gateway link."""

from __future__ import annotations

import asyncio
import logging
import math
from pathlib import Path

import discord

from agent.health_file import WRITE_EVERY_SECONDS, ShardHealth, write_health

log = logging.getLogger(__name__)


def shard_health(bot: discord.AutoShardedClient) -> dict[int, ShardHealth]:
    """Each connected-or-connecting shard: whether its websocket is open, and its heartbeat latency."""
    shards: dict[int, ShardHealth] = {}
    for shard_id, info in bot.shards.items():
        try:
            latency = info.latency
            shards[shard_id] = ShardHealth(
                open=not info.is_closed(), latency_ms=None if math.isinf(latency) else round(latency * 1000, 1)
            )
        except AttributeError:  # launched, no websocket yet
            shards[shard_id] = ShardHealth(open=False, latency_ms=None)
    return shards


class HealthWriter:
    """Rewrites the file every few seconds until stopped; says "stopping" while the bot drains."""

    def __init__(self, bot: discord.AutoShardedClient, path: Path, every: float = WRITE_EVERY_SECONDS) -> None:
        self._bot = bot
        self._path = path
        self._every = every
        self._stopping = False
        self._warned = False

    def write(self) -> None:
        shards = shard_health(self._bot)
        connected = self._bot.is_ready() and not self._bot.is_closed() and bool(shards)
        try:
            write_health(self._path, connected=connected, stopping=self._stopping, shards=shards)
            self._warned = False
        except OSError as exc:  # health is for the operator; never stop the bot over it
            if not self._warned:
                log.warning("cannot write the health file %s: %s", self._path, exc)
                self._warned = True

    async def run(self) -> None:
        while True:
            self.write()
            await asyncio.sleep(self._every)

    def stopping(self) -> None:
        self._stopping = True
        self.write()
