"""Writing the record: messages as they arrive (group commit), the bot's replies and usage rows
written behind, the guild, channel and member rows they need."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from agent.cache import TtlCache
from agent.events import Event
from agent.ids import new_snowflake
from agent.memory import tables
from agent.memory.db import dialect_insert, upsert

log = logging.getLogger(__name__)

# How long a process trusts its cached copy of a channel's mode, settings or a profile. Another
# process sharing the database (a second shard) sees a change within this time.
CACHE_SECONDS = 2.0
STORED_KEPT = 4096


class RecordCore:
    """The SQL record's core: one per process, safe to share between concurrent runs."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._dialect = engine.dialect.name
        # Rows known to exist with these names: skips an upsert per message on busy channels.
        self._known: set[tuple[str, int, str]] = set()
        self._modes: TtlCache[int, str] = TtlCache(CACHE_SECONDS)
        self._settings: TtlCache[int, dict[str, Any]] = TtlCache(CACHE_SECONDS)
        self._profile_cache: TtlCache[tuple[int, int], dict[str, Any]] = TtlCache(CACHE_SECONDS)
        # Group commit: writes arriving while one is in flight share the next transaction.
        # Incoming messages wait for their write; the bot's replies and usage rows are written
        # behind (the member already has the answer), and reads here flush them first.
        self._pending_events: list[tuple[Event, str | None, asyncio.Future[str]]] = []
        self._pending_rows: list[tuple[Table, dict[str, Any]]] = []
        self._writer: asyncio.Task[None] | None = None
        # Messages this process wrote lately: the graph's ingest finds a door's arrival write done.
        self._stored: OrderedDict[int, None] = OrderedDict()
        # Told of every usage row as it is queued (the quota ledger counts without a query).
        self.usage_listeners: list[Callable[[dict[str, Any]], None]] = []

    async def close(self) -> None:
        await self.flush()
        await self.engine.dispose()

    async def flush(self) -> None:
        """Wait until every write handed to the record so far is committed."""
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)

    def _start_writer(self) -> None:
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())

    async def _ensure(self, conn: AsyncConnection, table: Table, values: dict[str, Any], names: Sequence[str]) -> None:
        key = (table.name, int(values["id"]), "|".join(str(values[n]) for n in names))
        if key in self._known:
            return
        await conn.execute(upsert(self._dialect, table, values, ["id"], update=names))
        self._known.add(key)

    async def _ensure_place(self, conn: AsyncConnection, event: Event) -> None:
        if event.guild_id is not None:
            await self._ensure(conn, tables.guilds, {"id": event.guild_id, "name": event.guild_name or ""}, ["name"])
        await self._ensure(
            conn,
            tables.channels,
            {
                "id": event.channel_id,
                "guild_id": event.guild_id,
                "name": event.channel_name,
                "is_dm": event.is_dm,
                "mode": "mentions",
                "settings": {},
            },
            ["name"],
        )

    async def store_event(self, event: Event, state: str | None = None) -> str:
        """Store the message (idempotent on its id) and return its channel's mode.

        `state` starts the message's progress (a door that tracks it stores "waiting" on arrival).
        Concurrent callers are written together in one transaction (group commit); a lone
        caller is written at once, so no latency is added when the server is quiet.
        """
        if state is None and event.message_id in self._stored:
            mode = self._modes.get(event.channel_id)
            if mode is not None:
                return mode  # already written on arrival (idempotent anyway): no second commit on the way
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._pending_events.append((event, state, future))
        self._start_writer()
        return await future

    async def _drain(self) -> None:
        while self._pending_events or self._pending_rows:
            events, self._pending_events = self._pending_events, []
            rows, self._pending_rows = self._pending_rows, []
            try:
                modes = await self._store_batch([(event, state) for event, state, _ in events], rows)
            except Exception as exc:
                log.error("record: write of %d messages and %d rows failed: %s", len(events), len(rows), exc)
                for _, _, future in events:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for event, _, future in events:
                self._stored[event.message_id] = None
                if not future.done():
                    future.set_result(modes.get(event.channel_id, "mentions"))
            while len(self._stored) > STORED_KEPT:
                self._stored.popitem(last=False)

    async def _store_batch(
        self, stored: list[tuple[Event, str | None]], rows: list[tuple[Table, dict[str, Any]]]
    ) -> dict[int, str]:
        events = [event for event, _ in stored]
        arrived = datetime.now(UTC)
        async with self.engine.begin() as conn:
            for table, values in rows:
                if table is tables.messages:
                    await self._ensure_place(conn, values.pop("_event"))
                    await self._ensure(conn, tables.users, values.pop("_author"), ["name"])
                await conn.execute(table.insert().values(**values))
            if not events:
                return {}
            for event in events:
                await self._ensure_place(conn, event)
                await self._ensure(
                    conn,
                    tables.users,
                    {"id": event.author_id, "name": event.author_name, "is_bot": event.author_is_bot},
                    ["name"],
                )
            await conn.execute(
                dialect_insert(self._dialect)(tables.messages).on_conflict_do_nothing(index_elements=["id"]),
                [
                    {
                        "id": e.message_id,
                        "channel_id": e.channel_id,
                        "author_id": e.author_id,
                        "content": e.text,
                        "created_at": e.created_at,
                        "reply_to_id": e.reply_to_id,
                        "answers_id": None,
                        "edited_at": None,
                        "deleted_at": None,
                        "attachments": [a.model_dump(mode="json") for a in e.attachments],
                        "state": state,
                        "state_at": arrived if state else None,
                    }
                    for e, state in stored
                ],
            )
            modes = {}
            stale = set()
            for event in events:
                cached = self._modes.get(event.channel_id)
                if cached is not None:
                    modes[event.channel_id] = cached
                else:
                    stale.add(event.channel_id)
            if stale:
                found = await conn.execute(
                    select(tables.channels.c.id, tables.channels.c.mode).where(tables.channels.c.id.in_(stale))
                )
                for channel_id, mode in found:
                    modes[channel_id] = mode
                    self._modes.put(channel_id, mode)
        return modes

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
        self._pending_rows.append(
            (
                tables.messages,
                {
                    "_event": answered,
                    "_author": {"id": bot_id, "name": bot_name, "is_bot": True},
                    "id": reply_id,
                    "channel_id": answered.channel_id,
                    "author_id": bot_id,
                    "content": text,
                    "created_at": datetime.now(UTC),
                    "reply_to_id": answered.message_id,
                    "answers_id": answered.message_id,
                    "attachments": [],
                },
            )
        )
        if usage is not None:
            self.queue_usage(answered, **usage)
        self._start_writer()
        return reply_id

    def queue_usage(self, event: Event | None, **usage: Any) -> None:
        """Queue one model call's usage row (purpose, model, tokens, cost, latency, ok, error)."""
        values = self._usage_values(event, **usage)
        self._pending_rows.append((tables.usage, values))
        self._start_writer()
        for listener in self.usage_listeners:
            listener(values)

    @staticmethod
    def _usage_values(
        event: Event | None,
        *,
        purpose: str,
        model: str,
        tokens_in: int,
        tokens_out: int,
        cost_usd: float,
        latency_ms: float,
        ok: bool = True,
        error: str | None = None,
    ) -> dict[str, Any]:
        return {
            "created_at": datetime.now(UTC),
            "message_id": event.message_id if event else None,
            "guild_id": event.guild_id if event else None,
            "channel_id": event.channel_id if event else None,
            "user_id": event.author_id if event else None,
            "purpose": purpose,
            "model": model,
            "tokens_in": tokens_in,
            "tokens_out": tokens_out,
            "cost_usd": cost_usd,
            "latency_ms": latency_ms,
            "ok": ok,
            "error": error,
        }
