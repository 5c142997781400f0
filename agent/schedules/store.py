"""Reminders and scheduled posts in the record: made, listed, cancelled, and claimed when due, once.

Every claim is one conditional UPDATE on the shared database, so whichever processes' schedulers wake
for the same reminder, only the one whose update wins delivers it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from agent.memory.db import upsert
from agent.schedules import tables

log = logging.getLogger(__name__)

Kind = Literal["remind", "post"]
ReminderState = Literal["pending", "firing", "sent", "missed", "failed", "cancelled"]
OPEN: tuple[ReminderState, ...] = ("pending", "firing")


@dataclass(frozen=True)
class ReminderRow:
    """One reminder (`kind` "remind") or recurring post (`kind` "post") as stored. Times are aware UTC."""

    id: int
    kind: Kind
    guild_id: int | None
    channel_id: int
    channel_name: str
    is_dm: bool
    owner_id: int
    owner_name: str
    text: str
    zone: str
    due_at: datetime | None
    cron: str | None
    every: str | None
    state: ReminderState
    last_fire: datetime | None
    created_at: datetime
    rights: dict[str, Any]
    private: bool = False  # delivered by direct message (set in a private exchange)

    @property
    def recurring(self) -> bool:
        return self.cron is not None


@dataclass(frozen=True)
class NewReminder:
    """What a member or an admin asks for: a one-off `due_at` or a recurrence `cron` (with `every`, as written)."""

    kind: Kind
    guild_id: int | None
    channel_id: int
    channel_name: str
    is_dm: bool
    owner_id: int
    owner_name: str
    text: str
    zone: str
    due_at: datetime | None = None
    cron: str | None = None
    every: str | None = None
    rights: dict[str, Any] | None = None
    private: bool = False


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes (stored as UTC)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _row(values: Any) -> ReminderRow:
    m = values._mapping
    return ReminderRow(
        id=m["id"],
        kind=m["kind"],
        guild_id=m["guild_id"],
        channel_id=m["channel_id"],
        channel_name=m["channel_name"],
        is_dm=m["is_dm"],
        owner_id=m["owner_id"],
        owner_name=m["owner_name"],
        text=m["text"],
        zone=m["zone"],
        due_at=_aware(m["due_at"]),
        cron=m["cron"],
        every=m["every"],
        state=m["state"],
        last_fire=_aware(m["last_fire"]),
        created_at=_aware(m["created_at"]) or datetime.now(UTC),
        rights=dict(m["rights"] or {}),
        private=bool(m["private"]),
    )


# PostgreSQL advisory locks (two-int form) on one member's reminders: this class, and the member's id
# folded into an int4 (two members sharing a key only wait for each other a moment).
_LOCK_CLASS = 0x52454D  # "REM"


def _member_key(owner_id: int) -> int:
    return (owner_id % 2**32) - 2**31


class TooMany(ValueError):
    """The owner already has as many open reminders as allowed here."""


class Reminders:
    """The reminders table and members' time zones. One per process; safe to share between runs."""

    def __init__(self, engine: AsyncEngine, *, per_member: int = 25) -> None:
        self.engine = engine
        self.per_member = per_member
        self._dialect = engine.dialect.name
        self._adding = asyncio.Lock()  # SQLite: one writer at a time here, rather than waiting in busy retries
        # Told of each reminder made or cancelled here (the running scheduler makes or removes its schedule).
        self.added: list[Callable[[ReminderRow], Awaitable[None]]] = []
        self.cancelled: list[Callable[[int], Awaitable[None]]] = []

    # ----- making, listing, cancelling -----
    async def add(self, new: NewReminder) -> ReminderRow:
        """Store a new pending reminder. TooMany when its owner already has `per_member` waiting, counted
        over every server and direct message together.

        The count and the insert are one transaction that holds the member's lock, so a burst (40
        /schedule remind at once, from one process or several) stores no more than the limit: on
        PostgreSQL an advisory lock keyed by the member; on SQLite the write lock, taken at the start
        (BEGIN IMMEDIATE: the driver would otherwise run the count outside any transaction)."""
        if self._dialect == "sqlite":
            async with self._adding:
                row = await self._add(new)
        else:
            row = await self._add(new)
        await self._tell(self.added, row)
        return row

    async def _add(self, new: NewReminder) -> ReminderRow:
        t = tables.reminders
        async with self.engine.begin() as conn:
            if self._dialect == "sqlite":
                await conn.exec_driver_sql("BEGIN IMMEDIATE")
            elif new.kind == "remind":
                await conn.execute(select(func.pg_advisory_xact_lock(_LOCK_CLASS, _member_key(new.owner_id))))
            if new.kind == "remind":
                open_count = await conn.scalar(
                    select(func.count())
                    .select_from(t)
                    .where(t.c.owner_id == new.owner_id, t.c.kind == "remind", t.c.state.in_(OPEN))
                )
                if (open_count or 0) >= self.per_member:
                    raise TooMany(
                        f"you already have {open_count} reminders waiting, the most one member may have "
                        f"({self.per_member}, counted across all servers and direct messages); "
                        "cancel one with /schedule cancel"
                    )
            values = {
                "kind": new.kind,
                "guild_id": new.guild_id,
                "channel_id": new.channel_id,
                "channel_name": new.channel_name[:200],
                "is_dm": new.is_dm,
                "owner_id": new.owner_id,
                "owner_name": new.owner_name[:200],
                "text": new.text,
                "zone": new.zone,
                "due_at": new.due_at,
                "cron": new.cron,
                "every": new.every,
                "state": "pending",
                "created_at": datetime.now(UTC),
                "rights": new.rights or {},
                "private": new.private,
            }
            new_id = (await conn.execute(t.insert().values(**values).returning(t.c.id))).scalar_one()
            return _row((await conn.execute(select(t).where(t.c.id == new_id))).one())

    async def _tell(self, listeners: list[Any], value: Any) -> None:
        for listener in listeners:
            try:
                await listener(value)
            except Exception as exc:  # the sweep schedules it all the same
                log.warning("reminders: a listener failed: %s", type(exc).__name__)

    async def get(self, reminder_id: int) -> ReminderRow | None:
        t = tables.reminders
        async with self.engine.connect() as conn:
            found = (await conn.execute(select(t).where(t.c.id == reminder_id))).first()
        return None if found is None else _row(found)

    async def listing(
        self, *, owner_id: int | None = None, guild_id: int | None = None, recent: timedelta = timedelta(days=7)
    ) -> list[ReminderRow]:
        """Open ones, and those that ended (sent, missed, failed) within `recent`, soonest first; by owner,
        by server, or both."""
        t = tables.reminders
        since = datetime.now(UTC) - recent
        where = [or_(t.c.state.in_(OPEN), and_(t.c.state != "cancelled", t.c.fired_at >= since))]
        if owner_id is not None:
            where.append(t.c.owner_id == owner_id)
        if guild_id is not None:
            where.append(t.c.guild_id == guild_id)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(t).where(*where).order_by(t.c.due_at, t.c.id).limit(100))).all()
        return [_row(r) for r in rows]

    async def pending(self) -> list[ReminderRow]:
        """Every reminder still to fire (for the scheduler's sweep)."""
        t = tables.reminders
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(t).where(t.c.state == "pending"))).all()
        return [_row(r) for r in rows]

    async def cancel(self, reminder_id: int) -> bool:
        """Cancel an open reminder; False when it had already fired, ended or was cancelled."""
        t = tables.reminders
        async with self.engine.begin() as conn:
            done = await conn.execute(
                update(t).where(t.c.id == reminder_id, t.c.state.in_(OPEN)).values(state="cancelled")
            )
        if done.rowcount:
            await self._tell(self.cancelled, reminder_id)
        return bool(done.rowcount)

    # ----- firing, once -----
    async def claim(self, reminder_id: int, holder: str) -> ReminderRow | None:
        """Take a due one-off reminder (pending → firing); None when another process took it first, or it
        was cancelled."""
        t = tables.reminders
        now = datetime.now(UTC)
        async with self.engine.begin() as conn:
            won = await conn.execute(
                update(t)
                .where(t.c.id == reminder_id, t.c.state == "pending", t.c.cron.is_(None))
                .values(state="firing", holder=holder[:40], claimed_at=now)
            )
            if not won.rowcount:
                return None
            row = (await conn.execute(select(t).where(t.c.id == reminder_id))).one()
        return _row(row)

    async def claim_occurrence(self, reminder_id: int, fire_time: datetime, holder: str) -> ReminderRow | None:
        """Take one occurrence of a recurring post: moves `last_fire` to `fire_time` if it is before it. None
        when that occurrence was taken already (another process) or the post was cancelled."""
        t = tables.reminders
        async with self.engine.begin() as conn:
            won = await conn.execute(
                update(t)
                .where(
                    t.c.id == reminder_id,
                    t.c.state == "pending",
                    t.c.cron.is_not(None),
                    or_(t.c.last_fire.is_(None), t.c.last_fire < fire_time),
                )
                .values(last_fire=fire_time, holder=holder[:40], claimed_at=datetime.now(UTC))
            )
            if not won.rowcount:
                return None
            row = (await conn.execute(select(t).where(t.c.id == reminder_id))).one()
        return _row(row)

    async def finish(self, reminder_id: int, state: ReminderState) -> None:
        """A one-off's end (sent, missed, failed); a recurring post's occurrence only notes when it ran."""
        t = tables.reminders
        values: dict[str, Any] = {"fired_at": datetime.now(UTC)}
        async with self.engine.begin() as conn:
            await conn.execute(
                update(t)
                .where(t.c.id == reminder_id, t.c.cron.is_(None), t.c.state == "firing")
                .values(state=state, **values)
            )
            await conn.execute(update(t).where(t.c.id == reminder_id, t.c.cron.is_not(None)).values(**values))

    async def release(self, reminder_id: int, holder: str) -> bool:
        """A one-off this holder claimed goes back to pending (its delivery will be tried again); False when
        it is no longer this holder's to release (cancelled)."""
        t = tables.reminders
        async with self.engine.begin() as conn:
            done = await conn.execute(
                update(t)
                .where(t.c.id == reminder_id, t.c.state == "firing", t.c.holder == holder[:40])
                .values(state="pending", holder=None, claimed_at=None)
            )
        return bool(done.rowcount)

    async def release_stale(self, older_than: timedelta) -> int:
        """One-offs left `firing` longer than `older_than` (their process died between claim and post)
        go back to pending, to be fired again."""
        t = tables.reminders
        cutoff = datetime.now(UTC) - older_than
        async with self.engine.begin() as conn:
            done = await conn.execute(
                update(t).where(t.c.state == "firing", t.c.claimed_at < cutoff).values(state="pending", holder=None)
            )
        return int(done.rowcount or 0)

    # ----- time zones -----
    async def member_zone(self, user_id: int) -> str | None:
        z = tables.member_zones
        async with self.engine.connect() as conn:
            value = await conn.scalar(select(z.c.zone).where(z.c.user_id == user_id))
        return str(value) if value else None

    async def set_member_zone(self, user_id: int, zone: str | None) -> None:
        """Set (an IANA name, already checked) or clear (None) a member's time zone."""
        z = tables.member_zones
        async with self.engine.begin() as conn:
            if zone is None:
                await conn.execute(delete(z).where(z.c.user_id == user_id))
            else:
                await conn.execute(upsert(self._dialect, z, {"user_id": user_id, "zone": zone}, ["user_id"]))
