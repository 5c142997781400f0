"""A message's arrival, done once, for every door: read as the bot reads it (a prefix command addresses
it), its retrieval started, and in the record (or kept out of it by the access rules) before it waits
anywhere.

The Discord door arrives a member's message the moment it comes, before it is queued, and tells the
graph so (`InputState.arrived`); ingest then only reads the channel's mode. A message no door arrived
(the console, Studio, a test running the graph, a bot's line) arrives in ingest, through this same step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from agent.access.gate import Gate
from agent.addressing import DEFAULT_PREFIXES, address_by_prefix
from agent.events import Event
from agent.memory.faults import dependency_down
from agent.memory.knowledge import MemoryStore
from agent.memory.progress import MessageState
from agent.memory.recall import query_of
from agent.memory.record import Record
from agent.memory.record.delays import RecordDelayed
from agent.memory.scopes import readable_scopes
from agent.rules import addresses_bot


@dataclass(frozen=True)
class Arrived:
    """What arriving did. `mode`: the channel's mode as the write returned it (None when kept out of
    the record, or not written yet). `delayed`: the record did not take it within its patience; it is
    kept in memory and written once `delayed.written` resolves."""

    event: Event
    mode: str | None = None
    kept_out: bool = False
    delayed: RecordDelayed | None = None


@dataclass
class Arrival:
    record: Record
    memory: MemoryStore
    gate: Gate
    # The prefix commands (`!chat`) that address the bot in a guild.
    prefixes: Callable[[int | None], Sequence[str]] = field(default=lambda _guild: DEFAULT_PREFIXES)

    async def arrive(self, event: Event, *, state: MessageState | None = None, keep_if_unsure: bool = False) -> Arrived:
        """Address, foresee, then keep out or store with `state` (the first lifecycle state, for a door
        that tracks it: given by its inbox, which owns the lifecycle). `keep_if_unsure`: while the access
        rules cannot be read (the database is away), store it anyway and let the rules apply when it is
        answered (a door that must not lose it); otherwise that failure is raised. A message arriving
        `skipped` is never answered: no retrieval is started for it."""
        event = address_by_prefix(event, self.prefixes(event.guild_id))
        if state != "skipped":
            self.foresee(event)
        if await self._keeps_out(event, keep_if_unsure):
            return Arrived(event, kept_out=True)
        try:
            return Arrived(event, mode=await self.record.store_event(event, state=state))
        except RecordDelayed as delayed:
            return Arrived(event, delayed=delayed)

    def foresee(self, event: Event) -> None:
        """Start retrieval's slowest part (the question's embedding) in a thread for a message to the
        bot, so it overlaps storing, queueing and the graph's first steps instead of following them."""
        if addresses_bot(event) and event.text.strip():
            self.memory.start_query(query_of(event), readable_scopes(event.guild_id, event.author_id))

    async def _keeps_out(self, event: Event, keep_if_unsure: bool) -> bool:
        try:
            return await self.gate.keeps_out_of_record(event)
        except Exception as exc:
            if not keep_if_unsure or not dependency_down(exc):
                raise
            return False

    async def mode(self, arrived: Arrived) -> str:
        """The channel's mode for a message that has arrived: as its write returned it; read when kept
        out; while the record refuses writes, read if it can be, else the last known."""
        if arrived.mode is not None:
            return arrived.mode
        if arrived.kept_out:
            return await self.record.channel_mode(arrived.event.channel_id)
        return await self.mode_now(arrived.event.channel_id)

    async def mode_now(self, channel_id: int) -> str:
        """The channel's mode, briefly cached; while the database is away, the last known (or mentions)."""
        cached = self.record.cached_mode(channel_id)
        if cached is not None:
            return cached
        try:
            return await self.record.channel_mode(channel_id)
        except Exception as exc:
            if not dependency_down(exc):
                raise
            return self.record.cached_mode(channel_id) or "mentions"
