"""A gateway close Discord will not take back (bad token, intents, shard setup): drain, then one clear line.

discord.py ends the client on close codes 4004 and 4010-4014: `AutoShardedClient.connect` calls
`close()` (which ends the HTTP session) and re-raises. Left alone, that closed the HTTP session and,
through the exit, the record under replies still streaming. `close_after_drain` makes every close
drain first, exactly like SIGTERM (replies in flight get OBSERVER_SHUTDOWN_GRACE_SECONDS, queued
questions stay `waiting` for the next start, writes are flushed); `fatal_close_error` turns the
exception into a `ConfigError` (exit code 2) whose one line names the fix.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import discord

from agent.errors import ConfigError

INTENTS_FIX = "enable the Message Content intent under Bot → Privileged Gateway Intents in the Developer Portal"

# Close code → what is wrong and what to do. The codes discord.py does not reconnect from.
FATAL_CLOSES: dict[int, str] = {
    4004: "Discord rejected the token (close code 4004): check DISCORD_TOKEN; copy it again from the "
    "Bot page of the Developer Portal",
    4010: "Discord rejected the shard setup (close code 4010, invalid shard): start Observer again; "
    "it asks Discord for the shard count at each start",
    4011: "Discord requires this bot to use more shards (close code 4011, sharding required): start "
    "Observer again; it asks Discord for the shard count at each start",
    4012: "Discord refused the gateway API version (close code 4012): upgrade Observer and discord.py",
    4013: "Discord refused the requested intents (close code 4013, invalid intents): upgrade Observer",
    4014: f"Discord refused a privileged intent (close code 4014, disallowed intents): {INTENTS_FIX}",
}


def fatal_close_error(exc: BaseException) -> ConfigError | None:
    """The one-line, actionable error for a gateway close that ended the client; None for anything else."""
    if isinstance(exc, discord.PrivilegedIntentsRequired):
        return ConfigError(FATAL_CLOSES[4014])
    if isinstance(exc, discord.ConnectionClosed):
        known = FATAL_CLOSES.get(exc.code)
        if known is not None:
            return ConfigError(known)
        return ConfigError(
            f"Discord closed the gateway connection for good (close code {exc.code}): see "
            "https://discord.com/developers/docs/topics/opcodes-and-status-codes, then start Observer again"
        )
    return None


class DrainOnce:
    """Runs the drain once, whoever asks first (discord.py's close, SIGTERM, run's final close)."""

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None

    async def __call__(self, drain: Callable[[], Awaitable[None]]) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(drain())
        await asyncio.shield(self._task)


async def close_after_drain(
    once: DrainOnce, drain: Callable[[], Awaitable[None]], close: Callable[[], Awaitable[None]]
) -> None:
    """Drain (replies finish or stay resumable, writes flushed), then close; the close happens even if
    the drain failed."""
    try:
        await once(drain)
    finally:
        await close()
