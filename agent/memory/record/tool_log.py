"""What the agent's tools read from and write to the record: its calls, message search, a member's usage."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, select

from agent.events import Event
from agent.memory import tables
from agent.memory.record.writes import RecordCore


class ToolLog(RecordCore):
    """What the agent's tools read from and write to the record."""

    def queue_tool_calls(self, event: Event, calls: Sequence[dict[str, Any]]) -> None:
        """Keep each call (tool, source, arguments, outcome, result, ms) with the message it answered.
        Written behind, with the next group commit: the answer does not wait for it; reads flush it first."""
        now = datetime.now(UTC)
        for call in calls:
            row = {
                "created_at": now,
                "message_id": event.message_id,
                "guild_id": event.guild_id,
                "channel_id": event.channel_id,
                "user_id": event.author_id,
                **{key: call[key] for key in ("tool", "source", "arguments", "outcome", "result", "ms")},
            }
            self._pending_rows.append((tables.tool_calls, row))
        if calls:
            self._start_writer()

    async def tool_calls_for(self, message_id: int) -> list[dict[str, Any]]:
        await self.flush()
        query = select(tables.tool_calls).where(tables.tool_calls.c.message_id == message_id)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query.order_by(tables.tool_calls.c.id))).all()
        return [dict(r._mapping) for r in rows]

    async def search_messages(
        self,
        channel_ids: Sequence[int] | None,
        guild_id: int | None,
        words: Sequence[str],
        *,
        author: str | None = None,
        channel: str | None = None,
        since: datetime | None = None,
        before_id: int | None = None,
        limit: int = 10,
    ) -> list[dict[str, Any]]:
        """Newest first: live messages containing every word (any case; CJK works as substrings).

        `channel_ids` None means every channel of `guild_id`; the caller decides what a member may read.
        """
        await self.flush()
        m, u, c = tables.messages, tables.users, tables.channels
        name = func.coalesce(m.c.shown_name, u.c.name)  # a proxied member's line: the name it was shown under
        conditions: list[Any] = [m.c.deleted_at.is_(None)]
        if channel_ids is not None:
            conditions.append(m.c.channel_id.in_(list(channel_ids)))
        else:
            conditions.append(c.c.guild_id == guild_id)
        for word in words:
            conditions.append(func.lower(m.c.content).contains(word.lower(), autoescape=True))
        if author:
            conditions.append(func.lower(name).contains(author.lower().lstrip("@"), autoescape=True))
        if channel:
            conditions.append(func.lower(c.c.name) == channel.lower().lstrip("#"))
        if since is not None:
            conditions.append(m.c.created_at >= since)
        if before_id is not None:
            conditions.append(m.c.id < before_id)
        query = (
            select(m.c.id, m.c.content, m.c.created_at, name.label("author"), c.c.name.label("channel"))
            .join(u, u.c.id == m.c.author_id)
            .join(c, c.c.id == m.c.channel_id)
            .where(and_(*conditions))
            .order_by(m.c.id.desc())
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            return [dict(r._mapping) for r in (await conn.execute(query)).all()]

    async def member_usage(self, user_id: int, guild_id: int | None, since: datetime) -> dict[str, Any]:
        """A member's model calls since a time, in one guild (or their DMs): replies, tokens, cost."""
        await self.flush()
        us = tables.usage
        place = us.c.guild_id == guild_id if guild_id is not None else us.c.guild_id.is_(None)
        query = select(
            func.count().filter(us.c.purpose == "reply").label("replies"),
            func.coalesce(func.sum(us.c.tokens_in + us.c.tokens_out), 0).label("tokens"),
            func.coalesce(func.sum(us.c.cost_usd), 0.0).label("cost_usd"),
        ).where(and_(us.c.user_id == user_id, place, us.c.created_at >= since))
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).one()
        return dict(row._mapping)
