"""The live feed's reads: members' messages with their state, the run's decision, model, tokens, cost and
time to first token, as the record holds them (written by whichever process answered).

`FeedReader.changes(cursor)` returns what changed since the cursor (a state moved, a note or a usage row
came in) and the next cursor, each query on an index; `recent()` the newest messages for a first page.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from agent.memory import tables
from agent.redact import redact

# Member text as the feed shows it (the record keeps all of it).
FEED_TEXT_CHARS = 400
# States set this long before the cursor are read again: two processes' clocks and a commit that
# lands after a later one's must not hide a change.
STATE_OVERLAP = timedelta(seconds=5)
PRIVATE, DELETED = "(private)", "(deleted)"
# A run's note values that are the bot's own labels, not words derived from the member's message; every
# other text in a note (the judge's reason, why a model was picked, a failure, any key added later) is
# masked with the message.
LABEL_KEYS = frozenset({"respond", "source", "method", "model"})
# Read past the cut before redacting, so a key cut in half is still recognised (and not half shown).
REDACT_MARGIN = 256
# Accounts a member filter's name may stand for (more are said, not silently dropped).
NAMED_ACCOUNTS = 20


def withheld(private: bool, deleted: bool) -> str | None:
    """What stands for a message's words, and for every text derived from them: "(private)" for a
    private /chat exchange (its author's alone, not even an operator's), "(deleted)" once deleted
    (gone for the channel, gone here too); None when they may be shown."""
    return PRIVATE if private else DELETED if deleted else None


def shown(value: Any, hidden: str | None, chars: int = FEED_TEXT_CHARS) -> str:
    """The one way a free text about a message reaches a page or the event stream: masked when the
    message's words are withheld, else redacted (no key or token) and cut to `chars`."""
    if hidden is not None:
        return hidden
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    clean = redact(text[: chars + REDACT_MARGIN])
    return clean[:chars] + ("…" if len(text) > chars else "")


def shown_note(data: dict[str, Any] | None, hidden: str | None, chars: int = FEED_TEXT_CHARS) -> dict[str, Any]:
    """A run's note (decision, reply) as shown: labels and numbers as they are, every other value through
    `shown` (a new free-text field is masked without anyone remembering to)."""
    return {
        k: v if k in LABEL_KEYS or v is None or isinstance(v, bool | int | float) else shown(v, hidden, chars)
        for k, v in (data or {}).items()
    }


def folded(name: str) -> str:
    """A name as names are compared: Unicode case folded, composed (É and E + ´ are one)."""
    return unicodedata.normalize("NFC", name).casefold()


def _like_prefilter(name: str) -> str:
    """A LIKE pattern (escape \\) every case variant of `name` matches in both SQLite and PostgreSQL,
    compared with lower(column): ASCII lowered, every other character any one character (SQLite's lower()
    leaves them as they are). The candidates are then compared in Python with `folded`."""
    out = []
    for ch in unicodedata.normalize("NFC", name):
        if not ch.isascii():
            out.append("_")
        elif ch in "%_\\":
            out.append("\\" + ch)
        else:
            out.append(ch.lower())
    return "".join(out)


@dataclass(frozen=True)
class FeedItem:
    """One member's message as the feed shows it. Times are UTC; `cost_usd` in US dollars, `*_ms` in
    milliseconds; `decision` is the run's note ({respond, source, reason, method, model, model_reason})."""

    message_id: int
    created_at: datetime
    guild_id: int | None
    guild_name: str
    channel_id: int
    channel_name: str
    author_name: str
    text: str
    state: str | None
    state_at: datetime | None
    private: bool = False
    author_id: int = 0
    decision: dict[str, Any] = field(default_factory=dict)
    model: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    first_token_ms: float | None = None
    failure: str | None = None
    deleted: bool = False

    @property
    def hidden(self) -> str | None:
        """What stands for this message's words ("(private)", "(deleted)"), or None: see `withheld`."""
        return withheld(self.private, self.deleted)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": str(self.message_id),  # snowflakes exceed a JavaScript number
            "created_at": self.created_at.isoformat(),
            "guild_id": None if self.guild_id is None else str(self.guild_id),
            "guild": self.guild_name,
            "channel_id": str(self.channel_id),
            "channel": self.channel_name,
            "author": self.author_name,
            "author_id": str(self.author_id),
            "text": self.text,
            "state": self.state,
            "state_at": None if self.state_at is None else self.state_at.isoformat(),
            "decision": self.decision,
            "model": self.model,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "cost_usd": self.cost_usd,
            "first_token_ms": self.first_token_ms,
            "failure": self.failure,
        }


@dataclass(frozen=True)
class FeedCursor:
    """Where the last look ended: the newest state time, message, note and usage row seen."""

    state_at: datetime
    message_id: int
    note_id: int
    usage_id: int


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class FeedReader:
    """Read-only queries over the record for the live feed."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    def _base(self) -> Select[Any]:
        m, c, g, u = tables.messages.c, tables.channels.c, tables.guilds.c, tables.users.c
        return (
            select(
                m.id,
                m.created_at,
                m.content,
                m.shown_name,
                m.state,
                m.state_at,
                m.private,
                m.deleted_at,
                m.author_id,
                c.id.label("channel_id"),
                c.name.label("channel_name"),
                c.guild_id,
                g.name.label("guild_name"),
                u.name.label("author_name"),
            )
            .join(tables.channels, c.id == m.channel_id)
            .outerjoin(tables.guilds, g.id == c.guild_id)
            .join(tables.users, u.id == m.author_id)
            .where(and_(m.answers_id.is_(None), u.is_bot.is_(False)))
        )

    async def recent(
        self,
        limit: int = 50,
        *,
        guild_ids: Iterable[int] | None = None,
        channel_id: int | None = None,
        state: str | None = None,
        author_ids: Iterable[int] | None = None,
    ) -> list[FeedItem]:
        """The newest `limit` members' messages, newest first; `guild_ids` None means every server
        (direct messages included), else only those servers; `author_ids` likewise. Each filter has an
        index ending in the message id (channel, state, author: migration 0015), so the newest are read
        first, not sorted."""
        m, c = tables.messages.c, tables.channels.c
        query = self._base()
        if guild_ids is not None:
            query = query.where(c.guild_id.in_(sorted(guild_ids)))
        if channel_id is not None:
            query = query.where(m.channel_id == channel_id)
        if state is not None:
            query = query.where(m.state == state)
        if author_ids is not None:
            authors = sorted(author_ids)
            query = query.where(m.author_id == authors[0] if len(authors) == 1 else m.author_id.in_(authors))
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query.order_by(m.id.desc()).limit(limit))).all()
        return await self._complete(rows)

    async def members_named(self, name: str) -> tuple[tuple[int, ...], bool]:
        """The ids of members (not bots) called `name` in any case (Unicode: folded, not SQLite's ASCII-only
        lower()), by their account's name or the name a proxy showed them under, at most NAMED_ACCOUNTS;
        and whether more were called so."""
        u, m = tables.users.c, tables.messages.c
        pattern, wanted = _like_prefilter(name), folded(name)
        accounts = select(u.id, u.name).where(and_(func.lower(u.name).like(pattern, escape="\\"), u.is_bot.is_(False)))
        proxied = (
            select(m.author_id, m.shown_name)
            .where(and_(m.shown_name.is_not(None), func.lower(m.shown_name).like(pattern, escape="\\")))
            .distinct()
        )
        async with self.engine.connect() as conn:
            rows = [*(await conn.execute(accounts)).all(), *(await conn.execute(proxied)).all()]
        ids = sorted({int(r[0]) for r in rows if r[1] is not None and folded(r[1]) == wanted})
        return tuple(ids[:NAMED_ACCOUNTS]), len(ids) > NAMED_ACCOUNTS

    async def cursor(self) -> FeedCursor:
        """The cursor of now: `changes` from it returns only what changes after."""
        async with self.engine.connect() as conn:
            newest = await conn.scalar(select(func.max(tables.messages.c.id)))
            note = await conn.scalar(select(func.max(tables.message_notes.c.id)))
            used = await conn.scalar(select(func.max(tables.usage.c.id)))
        return FeedCursor(datetime.now(UTC) - STATE_OVERLAP, int(newest or 0), int(note or 0), int(used or 0))

    async def changes(self, cursor: FeedCursor, limit: int = 200) -> tuple[list[FeedItem], FeedCursor]:
        """Messages whose state, decision or usage changed since `cursor` (oldest first), and the next
        cursor. A message may come again with the same content (the caller compares)."""
        m, n, us = tables.messages.c, tables.message_notes.c, tables.usage.c
        since = cursor.state_at
        async with self.engine.connect() as conn:
            moved = (
                await conn.execute(
                    select(m.id, m.state_at)
                    .where(or_(m.state_at > since, m.id > cursor.message_id))
                    .order_by(m.id)
                    .limit(limit)
                )
            ).all()
            noted = (await conn.execute(select(n.id, n.message_id).where(n.id > cursor.note_id).limit(limit))).all()
            used = (
                await conn.execute(
                    select(us.id, us.message_id)
                    .where(and_(us.id > cursor.usage_id, us.message_id.is_not(None)))
                    .limit(limit)
                )
            ).all()
        ids = {int(r.id) for r in moved} | {int(r.message_id) for r in noted} | {int(r.message_id) for r in used}
        times = [t for t in (_aware(r.state_at) for r in moved) if t is not None]
        newest_state = max(times, default=None)
        next_cursor = FeedCursor(
            state_at=max(since, newest_state - STATE_OVERLAP) if newest_state else since,
            message_id=max([cursor.message_id, *(int(r.id) for r in moved)]),
            note_id=max([cursor.note_id, *(int(r.id) for r in noted)]),
            usage_id=max([cursor.usage_id, *(int(r.id) for r in used)]),
        )
        if not ids:
            return [], next_cursor
        async with self.engine.connect() as conn:
            rows = (await conn.execute(self._base().where(m.id.in_(sorted(ids))).order_by(m.id))).all()
        return await self._complete(rows), next_cursor

    async def _complete(self, rows: list[Any]) -> list[FeedItem]:
        """Items for these message rows, with their notes and usage summed."""
        items = [
            FeedItem(
                message_id=int(r.id),
                created_at=_aware(r.created_at) or datetime.now(UTC),
                guild_id=None if r.guild_id is None else int(r.guild_id),
                guild_name=r.guild_name or ("direct messages" if r.guild_id is None else str(r.guild_id)),
                channel_id=int(r.channel_id),
                channel_name=r.channel_name or str(r.channel_id),
                author_name=r.shown_name or r.author_name or "?",
                text=shown(r.content, withheld(bool(r.private), r.deleted_at is not None)),
                state=r.state,
                state_at=_aware(r.state_at),
                private=bool(r.private),
                deleted=r.deleted_at is not None,
                author_id=int(r.author_id),
            )
            for r in rows
        ]
        if not items:
            return []
        ids = [i.message_id for i in items]
        n, us = tables.message_notes.c, tables.usage.c
        async with self.engine.connect() as conn:
            notes = (
                await conn.execute(select(n.message_id, n.kind, n.data).where(n.message_id.in_(ids)).order_by(n.id))
            ).all()
            usage = (
                await conn.execute(
                    select(
                        us.message_id,
                        func.sum(us.tokens_in).label("tin"),
                        func.sum(us.tokens_out).label("tout"),
                        func.sum(us.cost_usd).label("cost"),
                    )
                    .where(us.message_id.in_(ids))
                    .group_by(us.message_id)
                )
            ).all()
        decisions: dict[int, dict[str, Any]] = {}
        replies: dict[int, dict[str, Any]] = {}
        for row in notes:  # oldest first: a resumed run's newer note wins
            if row.kind in ("decision", "reply"):
                (decisions if row.kind == "decision" else replies)[int(row.message_id)] = dict(row.data or {})
        spent = {int(r.message_id): r for r in usage}
        completed = []
        for item in items:
            decision = shown_note(decisions.get(item.message_id), item.hidden)
            reply = shown_note(replies.get(item.message_id), item.hidden)
            cost = spent.get(item.message_id)
            completed.append(
                replace(
                    item,
                    decision=decision,
                    model=reply.get("model") or decision.get("model"),
                    first_token_ms=reply.get("first_token_ms"),
                    failure=reply.get("failure") or None,
                    tokens_in=int(cost.tin or 0) if cost else 0,
                    tokens_out=int(cost.tout or 0) if cost else 0,
                    cost_usd=float(cost.cost or 0.0) if cost else 0.0,
                )
            )
        return completed
