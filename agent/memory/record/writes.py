"""Writing the record: messages as they arrive (group commit), the bot's replies and usage rows
written behind, the guild, channel and member rows they need.

A write that fails because the database is locked, full or unreachable is kept in memory and retried
with backoff until it is in: nothing handed to the record is dropped for a fault that passes. A caller
waiting for its arrival write hears after `patience` seconds (`RecordDelayed`, with a future that
resolves once the row is in) so it can tell the member and carry on."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from agent.cache import TtlCache
from agent.events import Event
from agent.ids import new_snowflake
from agent.memory import tables
from agent.memory.db import dialect_insert
from agent.memory.faults import dependency_down, fault_summary
from agent.memory.progress import MessageState
from agent.memory.record.delays import Arrival, RecordDelayed, tell_the_patient
from agent.memory.record.places import KnownRows, channel_modes
from agent.memory.record.rows import arrival_row, reply_row, usage_row

log = logging.getLogger(__name__)

# How long a process trusts its cached copy of a channel's mode, settings or a profile. Another
# process sharing the database (a second shard) sees a change within this time.
CACHE_SECONDS = 2.0
STORED_KEPT = 4096
# Backoff between attempts while the database refuses writes (each attempt may itself wait busy_timeout).
RETRY_FIRST_S = 0.25
RETRY_MAX_S = 2.0


class RecordCore:
    """The SQL record's core: one per process, safe to share between concurrent runs."""

    def __init__(self, engine: AsyncEngine, *, patience: float = 10.0, backlog: int = 10_000) -> None:
        self.engine = engine
        # How long an arrival's caller waits through retries before hearing RecordDelayed.
        self.patience = patience
        # Behind-writes (replies, usage) kept in memory while the database refuses them; beyond, the
        # oldest are dropped, loudly.
        self.backlog = backlog
        self._dialect = engine.dialect.name
        # The process storing arrivals (agent/memory/processes.py): a waiting message is its to answer
        # while it beats, and a survivor's once it stops.
        self.holder: str | None = None
        # Rows known to exist with these names: skips an upsert per message on busy channels.
        self._places = KnownRows(self._dialect)
        self._modes: TtlCache[int, str] = TtlCache(CACHE_SECONDS)
        self._settings: TtlCache[int, dict[str, Any]] = TtlCache(CACHE_SECONDS)
        self._profile_cache: TtlCache[tuple[int, int], dict[str, Any]] = TtlCache(CACHE_SECONDS)
        # Group commit: writes arriving while one is in flight share the next transaction.
        # Incoming messages wait for their write; the bot's replies and usage rows are written
        # behind (the member already has the answer), and reads here flush them first.
        self._pending_events: list[Arrival] = []
        self._pending_rows: list[tuple[Table, dict[str, Any]]] = []
        self._writer: asyncio.Task[None] | None = None
        # Set while the writer is retrying through a fault: reads stop waiting for the backlog.
        self._degraded = asyncio.Event()
        # Set by each new write: a writer pausing between failed attempts tries again at once, so the
        # first write after the database comes back does not wait out the pause.
        self._wake = asyncio.Event()
        # Messages this process wrote lately: a second write of one (ingest's, for a message a recovery
        # pass queued again) is not committed twice.
        self._stored: OrderedDict[int, None] = OrderedDict()
        # Told of every usage row as it is queued (the quota ledger counts without a query).
        self.usage_listeners: list[Callable[[dict[str, Any]], None]] = []

    async def close(self) -> None:
        writer = self._writer
        if writer is not None and not writer.done():
            # A fault that outlasts this is given up on: the messages are still on Discord, where the
            # next start's catch-up reads them again; replies and usage rows are lost and counted here.
            await asyncio.wait([writer], timeout=self.patience * 2)
            if not writer.done():
                writer.cancel()
                log.error(
                    "record: stopping with %d message(s) and %d row(s) not written",
                    len(self._pending_events),
                    len(self._pending_rows),
                )
                await asyncio.gather(writer, return_exceptions=True)
        await self.engine.dispose()

    @property
    def degraded(self) -> bool:
        """The database is refusing writes; they are kept in memory and retried."""
        return self._degraded.is_set()

    async def flush(self) -> None:
        """Wait until every write handed to the record so far is committed, or until the writer is
        retrying through a fault (a read then sees the database as it is, and the run goes on)."""
        while self._writer is not None and not self._writer.done() and not self._degraded.is_set():
            degraded = asyncio.ensure_future(self._degraded.wait())
            try:
                await asyncio.wait([self._writer, degraded], return_when=asyncio.FIRST_COMPLETED)
            finally:
                degraded.cancel()

    def _start_writer(self) -> None:
        self._wake.set()
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())

    async def _ensure_place(
        self, conn: AsyncConnection, event: Event, added: set[tuple[str, int, str]] | None = None
    ) -> None:
        await self._places.ensure_place(conn, event, added)

    async def store_event(self, event: Event, state: MessageState | None = None) -> str:
        """Store the message (idempotent on its id) and return its channel's mode.

        `state` starts the message's progress (the first one the inbox chose; see `agent.arrival`).
        Concurrent callers are written together in one transaction (group commit); a lone
        caller is written at once, so no latency is added when the server is quiet.
        """
        if state is None and event.message_id in self._stored:
            mode = self._modes.get(event.channel_id)
            if mode is not None:
                return mode  # already written on arrival (idempotent anyway): no second commit on the way
        loop = asyncio.get_running_loop()
        for waiting in self._pending_events:
            if waiting.event.message_id == event.message_id and waiting.written is not None:
                raise RecordDelayed(waiting.written, "still retrying an earlier write of this message")
        future: asyncio.Future[str] = loop.create_future()
        self._pending_events.append(Arrival(event, state, future, loop.time()))
        self._start_writer()
        return await future

    def cached_mode(self, channel_id: int) -> str | None:
        """The channel's mode as this process last read it (None when not known lately)."""
        return self._modes.get(channel_id)

    def pending_ids(self) -> set[int]:
        """Messages handed to the record and not written yet (kept in memory through a fault)."""
        return {arrival.event.message_id for arrival in self._pending_events}

    async def _drain(self) -> None:
        failures = 0
        while self._pending_events or self._pending_rows:
            events, self._pending_events = self._pending_events, []
            rows, self._pending_rows = self._pending_rows, []
            try:
                modes = await self._store_batch([(a.event, a.state) for a in events], rows)
            except Exception as exc:
                if not dependency_down(exc):
                    await self._write_one_by_one(events, rows, exc)
                    continue
                failures += 1
                # Kept, in order, ahead of whatever arrived meanwhile; tried again after a pause.
                self._pending_events[:0] = events
                self._pending_rows[:0] = rows
                self._trim_backlog()
                if failures == 1:
                    log.warning(
                        "record: write of %d message(s) and %d row(s) failed (%s); kept in memory, retrying",
                        len(events),
                        len(rows),
                        fault_summary(exc),
                    )
                self._degraded.set()
                tell_the_patient(self._pending_events, self.patience, fault_summary(exc))
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), min(RETRY_MAX_S, RETRY_FIRST_S * 2 ** (failures - 1)))
                continue
            if failures:
                log.warning("record: writing again after %d failed attempt(s)", failures)
                failures = 0
            self._degraded.clear()
            for arrival in events:
                self._settled(arrival, modes.get(arrival.event.channel_id, "mentions"))
        self._degraded.clear()

    def _settled(self, arrival: Arrival, mode: str) -> None:
        self._stored[arrival.event.message_id] = None
        while len(self._stored) > STORED_KEPT:
            self._stored.popitem(last=False)
        for future in (arrival.future, arrival.written):
            if future is not None and not future.done():
                future.set_result(mode)

    def _trim_backlog(self) -> None:
        excess = len(self._pending_rows) - self.backlog
        if excess > 0:
            del self._pending_rows[:excess]
            log.error("record: %d reply/usage row(s) dropped: more than %d waiting to be written", excess, self.backlog)

    async def _write_one_by_one(
        self, events: list[Arrival], rows: list[tuple[Table, dict[str, Any]]], exc: Exception
    ) -> None:
        """Not a passing fault: find the write at fault and drop only it (logged), keep the rest."""
        log.error("record: a batch write failed (%s); writing its parts one by one", fault_summary(exc))
        for row in rows:
            try:
                await self._store_batch([], [row])
            except Exception as one:
                if dependency_down(one):
                    self._pending_rows.append(row)
                else:
                    log.error("record: a %s row could not be written (%s); dropped", row[0].name, fault_summary(one))
        for arrival in events:
            try:
                modes = await self._store_batch([(arrival.event, arrival.state)], [])
            except Exception as one:
                if dependency_down(one):
                    self._pending_events.append(arrival)
                    continue
                log.error("record: message %s could not be written (%s)", arrival.event.message_id, fault_summary(one))
                for future in (arrival.future, arrival.written):
                    if future is not None and not future.done():
                        future.set_exception(one)
                continue
            self._settled(arrival, modes.get(arrival.event.channel_id, "mentions"))

    async def _store_batch(
        self, stored: list[tuple[Event, MessageState | None]], rows: list[tuple[Table, dict[str, Any]]]
    ) -> dict[int, str]:
        events = [event for event, _ in stored]
        arrived = datetime.now(UTC)
        added: set[tuple[str, int, str]] = set()
        modes = await self._write_batch(stored, rows, events, arrived, added)
        self._places.keys |= added  # committed: these rows exist now
        return modes

    async def _write_batch(
        self,
        stored: list[tuple[Event, MessageState | None]],
        rows: list[tuple[Table, dict[str, Any]]],
        events: list[Event],
        arrived: datetime,
        added: set[tuple[str, int, str]],
    ) -> dict[int, str]:
        async with self.engine.begin() as conn:
            for table, queued in rows:
                values = dict(queued)  # left as queued: a failed attempt is made again from it
                if table is tables.messages:
                    await self._ensure_place(conn, values.pop("_event"), added)
                    await self._places.ensure(conn, tables.users, values.pop("_author"), ["name"], added)
                await conn.execute(table.insert().values(**values))
            if not events:
                return {}
            for event in events:
                await self._ensure_place(conn, event, added)
                await self._places.ensure(
                    conn,
                    tables.users,
                    {"id": event.author_id, "name": event.author_name, "is_bot": event.author_is_bot},
                    ["name"],
                    added,
                )
            await conn.execute(
                dialect_insert(self._dialect)(tables.messages).on_conflict_do_nothing(index_elements=["id"]),
                [arrival_row(e, state, arrived, self.holder) for e, state in stored],
            )
            return await channel_modes(conn, {e.channel_id for e in events}, self._modes)

    def store_bot_reply(
        self,
        answered: Event,
        text: str,
        bot_id: int,
        bot_name: str,
        message_id: int | None = None,
        usage: dict[str, Any] | None = None,
    ) -> int:
        """Queue the bot's reply (linked to what it answers) and the call's usage; returns the reply's id.

        Written behind, in the next group commit; reads from this record see it at once.
        """
        reply_id = message_id or new_snowflake()
        self._pending_rows.append((tables.messages, reply_row(answered, text, bot_id, bot_name, reply_id)))
        if usage is not None:
            self.queue_usage(answered, **usage)
        self._start_writer()
        return reply_id

    def queue_usage(self, event: Event | None, **usage: Any) -> None:
        """Queue one model call's usage row (purpose, model, tokens, cost, latency, ok, error)."""
        values = usage_row(event, **usage)
        self._pending_rows.append((tables.usage, values))
        self._start_writer()
        for listener in self.usage_listeners:
            listener(values)
