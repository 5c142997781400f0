"""Where each member's message stands, in the record, so no question is lost to a crash or a restart.

waiting (stored on arrival, queued) → answering (its run started) → answered | skipped | failed;
a message still waiting or answering after a restart is resumed while it is younger than the resume
window, and expired after. The reply's posted parts are kept with it, so a resumed run finishes the
half-written message in place instead of posting a second answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from agent.memory import tables
from agent.memory.retrying import retrying

# "retrying": the run failed only because a dependency (database, checkpointer, Chroma) was down; it is
# answered again once it is back, inside the resume window, like a waiting one after a restart.
# "paused": the run waits on a member's verdict (an approval); a press or a restart takes it back.
# The one type of a message's lifecycle state: every write of one (`Record.store_event` on arrival, `mark`,
# `claim`) takes it; discord_adapter/inbox.py owns which moves between them exist.
MessageState = Literal["waiting", "answering", "paused", "answered", "skipped", "failed", "expired", "retrying"]
UNFINISHED = ("waiting", "answering", "paused", "retrying")
ANY_TIME = datetime.min  # `claim` without comparing when the state was set


@dataclass(frozen=True)
class Unfinished:
    message_id: int
    channel_id: int
    guild_id: int | None
    created_at: datetime
    state: str
    reply_parts: tuple[int, ...]
    # When the state was set, exactly as stored: a claim compares it, so two takers cannot both win.
    state_at: datetime | None = None
    # The process that claimed its run (None: not claimed since it arrived, or claimed before 0011).
    holder: str | None = None


class Progress:
    """Reads and writes message states. Writes go straight to the database (not behind): a state must
    survive a `kill -9` right after it is set. A write the database refuses for now (locked, full,
    reconnecting) is tried again for up to `patience` seconds."""

    def __init__(self, engine: AsyncEngine, patience: float = 10.0, holder: str | None = None) -> None:
        self.engine = engine
        self.patience = patience
        self.holder = holder  # this process's id (agent/memory/processes.py), written with each claim

    def _ours(self, message_id: int) -> Any:
        """The message, unless another process holds it: one that was frozen longer than its lease (a
        stopped VM) must not overwrite what the process that took its questions over has written."""
        m = tables.messages.c
        if self.holder is None:
            return m.id == message_id
        return and_(m.id == message_id, or_(m.holder.is_(None), m.holder == self.holder))

    async def mark(self, message_id: int, state: MessageState, *, sources: Iterable[MessageState | None]) -> bool:
        """Move the message to `state` if the record holds it in one of `sources` (None: a row with no
        state yet) and no other process holds it: one conditional UPDATE, so the lifecycle's table is
        kept against the state the record really has. False: no row matched (another state, another
        holder, or a message the record does not hold)."""
        m = tables.messages.c
        sources = tuple(sources)
        source: Any = m.state.in_(sorted({s for s in sources if s is not None}))
        if None in sources:
            source = or_(source, m.state.is_(None))

        async def write() -> bool:
            async with self.engine.begin() as conn:
                result = await conn.execute(
                    update(tables.messages)
                    .where(and_(self._ours(message_id), source))
                    .values(state=state, state_at=datetime.now(UTC))
                )
            return bool(result.rowcount == 1)

        return await retrying(write, self.patience, f"marking a message {state}")

    async def claim(
        self,
        message_id: int,
        states: tuple[MessageState, ...],
        *,
        seen_at: datetime | None = ANY_TIME,
        set_before: datetime | None = None,
        live: frozenset[str] | None = None,
        to: MessageState = "answering",
    ) -> bool:
        """Take the message's run for this process: one conditional UPDATE, so of any number of takers
        (two presses, a press and a restart, two processes sharing the database) exactly one wins.

        `states`: what it must still be. For states with no owner ("waiting" or "answering" after a
        crash): `seen_at`, when that state was set as the taker read it, and `set_before`, the taker's
        start: a state set since then was set by a live process (a claim included), so is not left over,
        unless the process that claimed it is not among `live` (it stopped beating: killed, or replaced).
        The winner is written as the message's holder."""
        m = tables.messages.c
        conditions = [m.id == message_id, m.state.in_(states)]
        if seen_at is None:
            conditions.append(m.state_at.is_(None))
        elif seen_at is not ANY_TIME:
            conditions.append(m.state_at == seen_at)
        if set_before is not None:
            left_over = or_(m.state_at.is_(None), m.state_at < set_before)
            if live is not None:
                held_by_the_dead = and_(m.holder.is_not(None), m.holder.not_in(sorted(live)))
                left_over = or_(and_(m.holder.is_(None), left_over), held_by_the_dead)
            conditions.append(left_over)
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(tables.messages)
                .where(and_(*conditions))
                .values(state=to, state_at=datetime.now(UTC), holder=self.holder)
            )
        return bool(result.rowcount == 1)

    async def note_reply_parts(self, message_id: int, parts: list[int]) -> None:
        """The reply's messages posted so far (written the moment a part is posted)."""

        async def write() -> None:
            async with self.engine.begin() as conn:
                await conn.execute(update(tables.messages).where(self._ours(message_id)).values(reply_parts=parts))

        await retrying(write, self.patience, "noting a reply's parts")

    async def holders(self, message_ids: set[int]) -> dict[int, str | None]:
        """Which process holds each of these messages now."""
        if not message_ids:
            return {}
        m = tables.messages.c
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(m.id, m.holder).where(m.id.in_(sorted(message_ids))))).all()
        return {int(r.id): r.holder for r in rows}

    async def state(self, message_id: int) -> str | None:
        async with self.engine.connect() as conn:
            value = await conn.scalar(select(tables.messages.c.state).where(tables.messages.c.id == message_id))
        return None if value is None else str(value)

    async def unfinished(self) -> list[Unfinished]:
        """Messages whose run did not finish, oldest first."""
        query = (
            select(
                tables.messages.c.id,
                tables.messages.c.channel_id,
                tables.channels.c.guild_id,
                tables.messages.c.created_at,
                tables.messages.c.state,
                tables.messages.c.reply_parts,
                tables.messages.c.state_at,
                tables.messages.c.holder,
            )
            .join(tables.channels, tables.channels.c.id == tables.messages.c.channel_id)
            .where(tables.messages.c.state.in_(UNFINISHED))
            .order_by(tables.messages.c.id)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            Unfinished(
                message_id=int(r.id),
                channel_id=int(r.channel_id),
                guild_id=None if r.guild_id is None else int(r.guild_id),
                created_at=_aware(r.created_at),
                state=str(r.state),
                reply_parts=tuple(int(p) for p in (r.reply_parts or [])),
                state_at=r.state_at,
                holder=r.holder,
            )
            for r in rows
        ]

    async def latest_per_channel(self, since: datetime, below: Mapping[int, int]) -> dict[int, int]:
        """The newest message id recorded since `since` in every channel that is not off.

        `below` maps a channel to the first message that arrived live after a (re)connect: the answer
        for that channel is the newest message before it, so live traffic cannot hide a downtime gap."""
        query = (
            select(tables.messages.c.channel_id, func.max(tables.messages.c.id))
            .join(tables.channels, tables.channels.c.id == tables.messages.c.channel_id)
            .where(and_(tables.messages.c.created_at >= since, tables.channels.c.mode != "off"))
            .group_by(tables.messages.c.channel_id)
        )
        async with self.engine.connect() as conn:
            latest = {int(c): int(m) for c, m in (await conn.execute(query)).all()}
            for channel_id, first_live in below.items():
                if latest.get(channel_id, -1) < first_live:
                    continue
                before = select(func.max(tables.messages.c.id)).where(
                    and_(
                        tables.messages.c.channel_id == channel_id,
                        tables.messages.c.id < first_live,
                        tables.messages.c.created_at >= since,
                    )
                )
                anchor = (await conn.execute(before)).scalar()
                if anchor is None:  # the channel's first message in the window came live: no gap to read
                    del latest[channel_id]
                else:
                    latest[channel_id] = int(anchor)
        return latest

    async def known(self, message_ids: list[int]) -> set[int]:
        if not message_ids:
            return set()
        async with self.engine.connect() as conn:
            found = await conn.execute(select(tables.messages.c.id).where(tables.messages.c.id.in_(message_ids)))
            return {int(i) for (i,) in found.all()}


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes: they were stored in UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
