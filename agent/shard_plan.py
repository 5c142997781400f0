"""How many shards each process of an automatic layout should hold, and this process's next step.

Pure: given the live processes (oldest first) and who holds which shard, every process computes the
same targets without talking to the others. Shards are dealt out evenly; the oldest processes hold
one more when they do not divide. A process takes free shards up to its target at once, and gives
back one above it per beat, only when no shard is free (so a newcomer takes a released shard, not a
free one that was already waiting for it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    take: tuple[int, ...] = ()
    release: int | None = None


def targets(shard_count: int, live: Sequence[str]) -> dict[str, int]:
    """Each live process's share of `shard_count` shards; `live` oldest first."""
    if not live:
        return {}
    base, extra = divmod(shard_count, len(live))
    return {who: base + (1 if index < extra else 0) for index, who in enumerate(live)}


def next_step(shard_count: int, me: str, live: Sequence[str], held: Mapping[str, frozenset[int]]) -> Step:
    """What `me` does now. `held`: unexpired leases by holder (dead holders' included until they expire)."""
    mine = held.get(me, frozenset())
    target = targets(shard_count, live).get(me, 0)
    taken = set().union(*held.values()) if held else set()
    free = [shard for shard in range(shard_count) if shard not in taken]
    if len(mine) < target:
        return Step(take=tuple(free[: target - len(mine)]))
    if len(mine) > target and not free:
        return Step(release=max(mine))
    return Step()
