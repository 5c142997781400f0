"""A READY of one shard restarts discord.py's client-wide wait; the other shards' READYs still arrive."""

from __future__ import annotations

import asyncio
from typing import Any

import discord
from discord.state import AutoShardedConnectionState

from discord_adapter.shard_ready import keep_shard_readies


def sharded_state(dispatched: list[tuple[str, Any]]) -> AutoShardedConnectionState:
    def dispatch(event: str, *args: Any) -> None:
        dispatched.append((event, *args))

    return AutoShardedConnectionState(
        dispatch=dispatch,
        handlers={},
        hooks={},
        http=None,
        intents=discord.Intents.none(),
        chunk_guilds_at_startup=False,
        guild_ready_timeout=0.01,
    )


async def loading(state: AutoShardedConnectionState, shard_id: int) -> None:
    """What discord.py's per-shard task does once its guilds have loaded."""
    await asyncio.sleep(0.05)
    state.dispatch("shard_ready", shard_id)


async def a_ready_of_one_shard_while_others_load(state: AutoShardedConnectionState) -> None:
    for shard_id in (0, 1):
        state._ready_tasks[shard_id] = asyncio.create_task(loading(state, shard_id))
    state._ready_task = asyncio.create_task(state._delay_ready())
    await asyncio.sleep(0)
    state._ready_task.cancel()  # what parse_ready does on the next READY, of any shard
    await asyncio.sleep(0.2)


async def test_without_the_shield_discord_py_loses_the_other_shards_readies():
    dispatched: list[tuple[str, Any]] = []
    await a_ready_of_one_shard_while_others_load(sharded_state(dispatched))
    assert ("shard_ready", 0) not in dispatched  # the fault this module exists for


async def test_with_the_shield_every_shard_still_gets_its_ready():
    dispatched: list[tuple[str, Any]] = []
    await a_ready_of_one_shard_while_others_load(keep_shard_readies(sharded_state(dispatched)))
    assert ("shard_ready", 0) in dispatched and ("shard_ready", 1) in dispatched
