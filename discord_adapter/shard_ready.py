"""Every shard's READY reaches `on_shard_ready`, however READYs of several shards interleave.

discord.py waits for each shard's guilds in a task per shard, and for the client-wide `on_ready` in one
task that gathers them. A READY of any shard cancels that gathering task, and cancelling a gather
cancels what it gathers: the other shards' tasks end without dispatching `shard_ready`. Observer's
recovery pass (and the release of the live messages a shard holds back meanwhile) starts from
`shard_ready`, so a lost one leaves a shard's members unanswered. It happens when a shard reconnects
with a new session while others are still loading, and whenever the automatic layout connects shards
one after another. The gathering here shields the per-shard tasks: cancelling it cancels only itself.
"""

from __future__ import annotations

import asyncio
from typing import Any


def keep_shard_readies(state: Any) -> Any:
    """Replace the state's `_delay_ready` (discord.py's AutoShardedConnectionState) with a shielded one."""

    async def delay_ready() -> None:
        await asyncio.gather(*(asyncio.shield(task) for task in state._ready_tasks.values()))
        state._ready_task = None
        state._ready_tasks = {}
        state.call_handlers("ready")
        state.dispatch("ready")

    state._delay_ready = delay_ready
    return state
