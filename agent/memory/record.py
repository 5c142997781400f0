"""Queries over the record: store what was said, read the window the models see, log usage."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from agent.events import ChatLine, Event
from agent.ids import new_snowflake
from agent.memory.db import dialect_insert, upsert
from agent.memory.tables import Channel, Feedback, Guild, MemberProfile, Message, Usage, User

_guilds: Table = Guild.__table__  # type: ignore[assignment]
_channels: Table = Channel.__table__  # type: ignore[assignment]
_users: Table = User.__table__  # type: ignore[assignment]
_messages: Table = Message.__table__  # type: ignore[assignment]
_usage: Table = Usage.__table__  # type: ignore[assignment]
_feedback: Table = Feedback.__table__  # type: ignore[assignment]
_profiles: Table = MemberProfile.__table__  # type: ignore[assignment]

log = logging.getLogger(__name__)

CHANNEL_MODES = ("off", "mentions", "auto", "observe")
# How long a process trusts its cached copy of a channel's mode. Another process sharing the
# database (a second shard) sees a mode change within this time.
MODE_CACHE_SECONDS = 2.0


class Record:
    """The SQL record. One per process; safe to share between concurrent runs."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._dialect = engine.dialect.name
        # Rows known to exist with these names: skips an upsert per message on busy channels.
        self._known: set[tuple[str, int, str]] = set()
        self._modes: dict[int, tuple[str, float]] = {}
        self._settings: dict[int, tuple[dict[str, Any], float]] = {}
        self._profile_cache: dict[tuple[int, int], tuple[dict[str, Any], float]] = {}
        # Group commit: writes arriving while one is in flight share the next transaction.
        # Incoming messages wait for their write; the bot's replies and usage rows are written
        # behind (the member already has the answer), and reads here flush them first.
        self._pending_events: list[tuple[Event, str | None, asyncio.Future[str]]] = []
        self._pending_rows: list[tuple[Table, dict[str, Any]]] = []
        self._writer: asyncio.Task[None] | None = None

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

    def _upsert(self, table: Table, values: dict[str, Any], update_cols: Sequence[str]) -> Any:
        stmt = dialect_insert(self._dialect)(table).values(**values)
        if update_cols:
            return stmt.on_conflict_do_update(index_elements=["id"], set_={c: stmt.excluded[c] for c in update_cols})
        return stmt.on_conflict_do_nothing(index_elements=["id"])

    async def _ensure(self, conn: AsyncConnection, table: Table, values: dict[str, Any], names: Sequence[str]) -> None:
        key = (table.name, int(values["id"]), "|".join(str(values[n]) for n in names))
        if key in self._known:
            return
        await conn.execute(self._upsert(table, values, names))
        self._known.add(key)

    async def _ensure_place(self, conn: AsyncConnection, event: Event) -> None:
        if event.guild_id is not None:
            await self._ensure(conn, _guilds, {"id": event.guild_id, "name": event.guild_name or ""}, ["name"])
        await self._ensure(
            conn,
            _channels,
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
                if not future.done():
                    future.set_result(modes.get(event.channel_id, "mentions"))

    async def _store_batch(
        self, stored: list[tuple[Event, str | None]], rows: list[tuple[Table, dict[str, Any]]]
    ) -> dict[int, str]:
        events = [event for event, _ in stored]
        arrived = datetime.now(UTC)
        async with self.engine.begin() as conn:
            for table, values in rows:
                if table is _messages:
                    await self._ensure_place(conn, values.pop("_event"))
                    await self._ensure(conn, _users, values.pop("_author"), ["name"])
                await conn.execute(table.insert().values(**values))
            if not events:
                return {}
            for event in events:
                await self._ensure_place(conn, event)
                await self._ensure(
                    conn,
                    _users,
                    {"id": event.author_id, "name": event.author_name, "is_bot": event.author_is_bot},
                    ["name"],
                )
            await conn.execute(
                dialect_insert(self._dialect)(_messages).on_conflict_do_nothing(index_elements=["id"]),
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
            now = time.monotonic()
            modes = {}
            stale = set()
            for event in events:
                cached = self._modes.get(event.channel_id)
                if cached is not None and now - cached[1] < MODE_CACHE_SECONDS:
                    modes[event.channel_id] = cached[0]
                else:
                    stale.add(event.channel_id)
            if stale:
                found = await conn.execute(select(_channels.c.id, _channels.c.mode).where(_channels.c.id.in_(stale)))
                for channel_id, mode in found:
                    modes[channel_id] = mode
                    self._modes[channel_id] = (mode, now)
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
                _messages,
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
        self._pending_rows.append((_usage, self._usage_values(event, **usage)))
        self._start_writer()

    async def set_channel_mode(self, channel_id: int, mode: str) -> None:
        if mode not in CHANNEL_MODES:
            raise ValueError(f"mode must be one of {', '.join(CHANNEL_MODES)}")
        async with self.engine.begin() as conn:
            await conn.execute(update(_channels).where(_channels.c.id == channel_id).values(mode=mode))
        self._modes[channel_id] = (mode, time.monotonic())

    async def channel_mode(self, channel_id: int) -> str:
        await self.flush()
        async with self.engine.connect() as conn:
            mode = await conn.scalar(select(_channels.c.mode).where(_channels.c.id == channel_id))
        return str(mode or "mentions")

    def _lines_query(self) -> Any:
        return select(
            _messages.c.id,
            _messages.c.content,
            _messages.c.created_at,
            _messages.c.attachments,
            _users.c.name,
            _users.c.is_bot,
        ).join(_users, _users.c.id == _messages.c.author_id)

    @staticmethod
    def _line(row: Any) -> ChatLine:
        text = row.content or ""
        if row.attachments:
            names = " ".join(f"[attachment: {a.get('filename', '?')}]" for a in row.attachments)
            text = f"{text} {names}".strip()
        return ChatLine(message_id=row.id, author=row.name, text=text, is_bot=row.is_bot, created_at=row.created_at)

    async def window(self, channel_id: int, limit: int, before_id: int | None = None) -> list[ChatLine]:
        """The last `limit` live messages of a channel before `before_id`, oldest first."""
        await self.flush()
        window_start = (
            select(func.coalesce(_channels.c.window_after_id, 0)).where(_channels.c.id == channel_id).scalar_subquery()
        )
        query = self._lines_query().where(
            and_(
                _messages.c.channel_id == channel_id,
                _messages.c.deleted_at.is_(None),
                _messages.c.id > func.coalesce(window_start, 0),
            )
        )
        if before_id is not None:
            query = query.where(_messages.c.id < before_id)
        query = query.order_by(_messages.c.id.desc()).limit(limit)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [self._line(r) for r in reversed(rows)]

    async def message(self, message_id: int) -> ChatLine | None:
        await self.flush()
        async with self.engine.connect() as conn:
            row = (await conn.execute(self._lines_query().where(_messages.c.id == message_id))).first()
        return self._line(row) if row else None

    async def reply_chain(self, reply_to_id: int | None, limit: int) -> list[ChatLine]:
        """Walk reply references upward from `reply_to_id`; oldest first."""
        await self.flush()
        chain: list[ChatLine] = []
        seen: set[int] = set()
        async with self.engine.connect() as conn:
            while reply_to_id is not None and len(chain) < limit and reply_to_id not in seen:
                seen.add(reply_to_id)
                row = (
                    await conn.execute(
                        self._lines_query().add_columns(_messages.c.reply_to_id).where(_messages.c.id == reply_to_id)
                    )
                ).first()
                if row is None:
                    break
                chain.append(self._line(row))
                reply_to_id = row.reply_to_id
        return list(reversed(chain))

    async def mark_edited(self, message_id: int, text: str, at: datetime | None = None) -> None:
        await self.flush()
        async with self.engine.begin() as conn:
            await conn.execute(
                update(_messages)
                .where(_messages.c.id == message_id)
                .values(content=text, edited_at=at or datetime.now(UTC))
            )

    async def store_transcript(self, message_id: int, transcript: str) -> None:
        """Keep what a voice message said with the message: its text, and on its audio attachment."""
        await self.flush()
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    select(_messages.c.content, _messages.c.attachments).where(_messages.c.id == message_id)
                )
            ).first()
            if row is None:
                return
            attachments = [dict(a) for a in row.attachments or []]
            for attachment in attachments:
                if attachment.get("is_voice") or str(attachment.get("content_type") or "").startswith("audio/"):
                    attachment["transcript"] = transcript
                    break
            content = f"{row.content}\n{transcript}" if row.content else transcript
            await conn.execute(
                update(_messages).where(_messages.c.id == message_id).values(content=content, attachments=attachments)
            )

    async def mark_deleted(self, message_id: int, at: datetime | None = None) -> None:
        await self.flush()
        async with self.engine.begin() as conn:
            await conn.execute(
                update(_messages).where(_messages.c.id == message_id).values(deleted_at=at or datetime.now(UTC))
            )

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

    async def usage_rows(self, message_id: int | None = None) -> list[dict[str, Any]]:
        await self.flush()
        query = select(_usage).order_by(_usage.c.id)
        if message_id is not None:
            query = query.where(_usage.c.message_id == message_id)
        async with self.engine.connect() as conn:
            return [dict(r._mapping) for r in (await conn.execute(query)).all()]

    async def count_messages(self, channel_id: int | None = None) -> int:
        await self.flush()
        query = select(func.count()).select_from(_messages)
        if channel_id is not None:
            query = query.where(_messages.c.channel_id == channel_id)
        async with self.engine.connect() as conn:
            return int(await conn.scalar(query) or 0)

    async def stored_text(self, message_id: int) -> str | None:
        await self.flush()
        async with self.engine.connect() as conn:
            value = await conn.scalar(select(_messages.c.content).where(_messages.c.id == message_id))
        return None if value is None else str(value)

    # ----- slash-command support -----
    async def reset_window(self, channel_id: int) -> int:
        """Forget the channel's window for the models; returns how many messages it hid."""
        await self.flush()
        async with self.engine.begin() as conn:
            last = await conn.scalar(select(func.max(_messages.c.id)).where(_messages.c.channel_id == channel_id))
            previous = await conn.scalar(select(_channels.c.window_after_id).where(_channels.c.id == channel_id))
            hidden = await conn.scalar(
                select(func.count())
                .select_from(_messages)
                .where(and_(_messages.c.channel_id == channel_id, _messages.c.id > (previous or 0)))
            )
            await conn.execute(update(_channels).where(_channels.c.id == channel_id).values(window_after_id=last))
        return int(hidden or 0)

    async def add_feedback(
        self,
        *,
        kind: str,
        user_id: int,
        text: str,
        message_id: int | None,
        guild_id: int | None,
        channel_id: int | None,
    ) -> int:
        async with self.engine.begin() as conn:
            result = await conn.execute(
                _feedback.insert().values(
                    created_at=datetime.now(UTC),
                    kind=kind,
                    guild_id=guild_id,
                    channel_id=channel_id,
                    user_id=user_id,
                    message_id=message_id,
                    text=text,
                )
            )
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    async def feedback_rows(self) -> list[dict[str, Any]]:
        async with self.engine.connect() as conn:
            return [dict(r._mapping) for r in (await conn.execute(select(_feedback).order_by(_feedback.c.id))).all()]

    async def last_bot_reply(self, channel_id: int, to_user_id: int | None = None) -> int | None:
        """The bot's most recent reply in a channel (to one member's message, when given)."""
        await self.flush()
        # A bot reply points at what it answers: `answers_id` where the graph stored it, the reply
        # reference where the platform echoed it back (Discord); both set reply_to_id.
        answered = _messages.alias("answered")
        query = (
            select(_messages.c.id)
            .join(_users, _users.c.id == _messages.c.author_id)
            .where(
                and_(
                    _messages.c.channel_id == channel_id, _users.c.is_bot.is_(True), _messages.c.reply_to_id.isnot(None)
                )
            )
        )
        if to_user_id is not None:
            query = query.join(answered, answered.c.id == _messages.c.reply_to_id).where(
                answered.c.author_id == to_user_id
            )
        async with self.engine.connect() as conn:
            value = await conn.scalar(query.order_by(_messages.c.id.desc()).limit(1))
        return None if value is None else int(value)

    async def answered(self, message_id: int) -> ChatLine | None:
        """The message a reply answers (the one it points at), if stored."""
        await self.flush()
        async with self.engine.connect() as conn:
            reply_to = await conn.scalar(select(_messages.c.reply_to_id).where(_messages.c.id == message_id))
        return None if reply_to is None else await self.message(int(reply_to))

    async def is_bot_message(self, message_id: int) -> bool:
        await self.flush()
        async with self.engine.connect() as conn:
            value = await conn.scalar(
                select(_users.c.is_bot)
                .join(_messages, _messages.c.author_id == _users.c.id)
                .where(_messages.c.id == message_id)
            )
        return bool(value)

    async def set_privacy(self, user_id: int, name: str, mode: str) -> None:
        if mode not in ("private", "public"):
            raise ValueError("privacy must be private or public")
        async with self.engine.begin() as conn:
            await conn.execute(
                self._upsert(_users, {"id": user_id, "name": name, "is_bot": False, "privacy": mode}, ["privacy"])
            )

    async def privacy(self, user_id: int) -> str:
        async with self.engine.connect() as conn:
            value = await conn.scalar(select(_users.c.privacy).where(_users.c.id == user_id))
        return str(value or "private")

    async def ensure_channel(self, event: Event) -> None:
        """Create the channel row (slash commands can come before any message)."""
        async with self.engine.begin() as conn:
            await self._ensure_place(conn, event)

    # ----- usage -----
    async def spent_since(self, guild_id: int, since: datetime) -> float:
        await self.flush()
        async with self.engine.connect() as conn:
            value = await conn.scalar(
                select(func.coalesce(func.sum(_usage.c.cost_usd), 0.0)).where(
                    and_(_usage.c.guild_id == guild_id, _usage.c.created_at >= since)
                )
            )
        return float(value or 0.0)

    async def usage_totals(self, guild_id: int, since: datetime) -> list[dict[str, Any]]:
        """Per model: calls, tokens in and out, cost, since a time."""
        await self.flush()
        query = (
            select(
                _usage.c.model,
                func.count().label("calls"),
                func.coalesce(func.sum(_usage.c.tokens_in), 0).label("tokens_in"),
                func.coalesce(func.sum(_usage.c.tokens_out), 0).label("tokens_out"),
                func.coalesce(func.sum(_usage.c.cost_usd), 0.0).label("cost_usd"),
            )
            .where(and_(_usage.c.guild_id == guild_id, _usage.c.created_at >= since))
            .group_by(_usage.c.model)
            .order_by(_usage.c.model)
        )
        async with self.engine.connect() as conn:
            return [dict(r._mapping) for r in (await conn.execute(query)).all()]

    async def channel_settings(self, channel_id: int) -> dict[str, Any]:
        async with self.engine.connect() as conn:
            value = await conn.scalar(select(_channels.c.settings).where(_channels.c.id == channel_id))
        return dict(value or {})

    async def update_channel_settings(self, channel_id: int, **changes: Any) -> dict[str, Any]:
        """Merge changes into a channel's settings (None removes a key)."""
        settings = await self.channel_settings(channel_id)
        for key, value in changes.items():
            if value is None:
                settings.pop(key, None)
            else:
                settings[key] = value
        async with self.engine.begin() as conn:
            await conn.execute(update(_channels).where(_channels.c.id == channel_id).values(settings=settings))
        self._settings[channel_id] = (settings, time.monotonic())
        return settings

    async def cached_channel_settings(self, channel_id: int) -> dict[str, Any]:
        """Channel settings, trusted for MODE_CACHE_SECONDS (the hot path reads them every message)."""
        cached = self._settings.get(channel_id)
        if cached is not None and time.monotonic() - cached[1] < MODE_CACHE_SECONDS:
            return cached[0]
        settings = await self.channel_settings(channel_id)
        self._settings[channel_id] = (settings, time.monotonic())
        return settings

    # ----- member profiles -----
    async def member_messages(self, user_id: int, guild_id: int | None, limit: int = 30) -> list[str]:
        """A member's latest messages in one guild (or in DMs), oldest first."""
        await self.flush()
        query = (
            select(_messages.c.content)
            .join(_channels, _channels.c.id == _messages.c.channel_id)
            .where(and_(_messages.c.author_id == user_id, _messages.c.deleted_at.is_(None), _messages.c.content != ""))
        )
        if guild_id is None:
            query = query.where(_channels.c.is_dm.is_(True))
        else:
            query = query.where(_channels.c.guild_id == guild_id)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query.order_by(_messages.c.id.desc()).limit(limit))).all()
        return [r.content for r in reversed(rows)]

    async def save_profile(
        self, user_id: int, guild_id: int | None, *, profile: str, language: str, temperature: float | None, seen: int
    ) -> None:
        values = {
            "user_id": user_id,
            "guild_id": guild_id or 0,
            "profile": profile,
            "language": language[:32],
            "temperature": temperature,
            "messages_seen": seen,
            "updated_at": datetime.now(UTC),
        }
        stmt = upsert(self._dialect, _profiles, values, ["user_id", "guild_id"])
        async with self.engine.begin() as conn:
            await conn.execute(stmt)
        self._profile_cache[(user_id, guild_id or 0)] = (dict(values), time.monotonic())

    async def profile(self, user_id: int, guild_id: int | None) -> dict[str, Any] | None:
        """The member's profile in this guild (DM profiles are separate), cached briefly."""
        key = (user_id, guild_id or 0)
        cached = self._profile_cache.get(key)
        if cached is not None and time.monotonic() - cached[1] < MODE_CACHE_SECONDS:
            return cached[0] or None
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(_profiles).where(and_(_profiles.c.user_id == key[0], _profiles.c.guild_id == key[1]))
                )
            ).first()
        value = dict(row._mapping) if row else {}
        self._profile_cache[key] = (value, time.monotonic())
        return value or None
