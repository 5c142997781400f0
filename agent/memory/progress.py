"""Where each member's message stands, in the record, so no question is lost to a crash or a restart.

waiting (stored on arrival, queued) → answering (its run started) → answered | skipped | failed;
a message still waiting or answering after a restart is resumed while it is younger than the resume
window, and expired after. The reply's posted parts are kept with it, so a resumed run finishes the
half-written message in place instead of posting a second answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from agent.memory import tables
from agent.memory.retrying import retrying

# "retrying": the run failed only because a dependency (database, checkpointer, Chroma) was down; it is
# answered again once it is back, inside the resume window, like a waiting one after a restart.
State = Literal["waiting", "answering", "answered", "skipped", "failed", "expired", "retrying"]
UNFINISHED = ("waiting", "answering", "retrying")


@dataclass(frozen=True)
class Unfinished:
    message_id: int
    channel_id: int
    created_at: datetime
    state: str
    reply_parts: tuple[int, ...]


class Progress:
    """Reads and writes message states. Writes go straight to the database (not behind): a state must
    survive a `kill -9` right after it is set. A write the database refuses for now (locked, full,
    reconnecting) is tried again for up to `patience` seconds."""

    def __init__(self, engine: AsyncEngine, patience: float = 10.0) -> None:
        self.engine = engine
        self.patience = patience

    async def mark(self, message_id: int, state: State) -> None:
        async def write() -> None:
            async with self.engine.begin() as conn:
                await conn.execute(
                    update(tables.messages)
                    .where(tables.messages.c.id == message_id)
                    .values(state=state, state_at=datetime.now(UTC))
                )

        await retrying(write, self.patience, f"marking a message {state}")

    async def note_reply_parts(self, message_id: int, parts: list[int]) -> None:
        """The reply's messages posted so far (written the moment a part is posted)."""

        async def write() -> None:
            async with self.engine.begin() as conn:
                await conn.execute(
                    update(tables.messages).where(tables.messages.c.id == message_id).values(reply_parts=parts)
                )

        await retrying(write, self.patience, "noting a reply's parts")

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
                tables.messages.c.created_at,
                tables.messages.c.state,
                tables.messages.c.reply_parts,
            )
            .where(tables.messages.c.state.in_(UNFINISHED))
            .order_by(tables.messages.c.id)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            Unfinished(
                message_id=int(r.id),
                channel_id=int(r.channel_id),
                created_at=_aware(r.created_at),
                state=str(r.state),
                reply_parts=tuple(int(p) for p in (r.reply_parts or [])),
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
