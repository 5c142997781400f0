"""What answering cost (usage rows) and what members said about answers (feedback)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, select

from agent.memory import tables
from agent.memory.record.writes import RecordCore

log = logging.getLogger(__name__)


class UsageLog(RecordCore):
    """What answering cost (usage rows) and what members said about answers (feedback)."""

    async def usage_rows(self, message_id: int | None = None) -> list[dict[str, Any]]:
        await self.flush()
        query = select(tables.usage).order_by(tables.usage.c.id)
        if message_id is not None:
            query = query.where(tables.usage.c.message_id == message_id)
        async with self.engine.connect() as conn:
            return [dict(r._mapping) for r in (await conn.execute(query)).all()]

    async def member_usage_since(self, since: datetime) -> list[dict[str, Any]]:
        """Usage rows of members' messages since a time: what the quota ledger starts from."""
        await self.flush()
        u = tables.usage.c
        query = select(
            u.created_at, u.guild_id, u.user_id, u.message_id, u.purpose, u.tokens_in, u.tokens_out, u.cost_usd, u.ok
        ).where(and_(u.created_at >= since, u.user_id.is_not(None)))
        async with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in (await conn.execute(query)).all()]
        for row in rows:  # SQLite hands back naive datetimes
            if row["created_at"].tzinfo is None:
                row["created_at"] = row["created_at"].replace(tzinfo=UTC)
        return rows

    async def spent_since(self, guild_id: int, since: datetime) -> float:
        await self.flush()
        async with self.engine.connect() as conn:
            value = await conn.scalar(
                select(func.coalesce(func.sum(tables.usage.c.cost_usd), 0.0)).where(
                    and_(tables.usage.c.guild_id == guild_id, tables.usage.c.created_at >= since)
                )
            )
        return float(value or 0.0)

    async def usage_totals(self, guild_id: int, since: datetime) -> list[dict[str, Any]]:
        """Per model: calls, tokens in and out, cost, since a time."""
        await self.flush()
        query = (
            select(
                tables.usage.c.model,
                func.count().label("calls"),
                func.coalesce(func.sum(tables.usage.c.tokens_in), 0).label("tokens_in"),
                func.coalesce(func.sum(tables.usage.c.tokens_out), 0).label("tokens_out"),
                func.coalesce(func.sum(tables.usage.c.cost_usd), 0.0).label("cost_usd"),
            )
            .where(and_(tables.usage.c.guild_id == guild_id, tables.usage.c.created_at >= since))
            .group_by(tables.usage.c.model)
            .order_by(tables.usage.c.model)
        )
        async with self.engine.connect() as conn:
            return [dict(r._mapping) for r in (await conn.execute(query)).all()]

    async def add_feedback(
        self,
        *,
        kind: str,
        user_id: int,
        text: str,
        message_id: int | None,
        guild_id: int | None,
        channel_id: int | None,
        rating: str | None = None,
    ) -> int:
        """`rating`: "good" | "bad" | None (`/feedback rating:`). Returns the row's id."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                tables.feedback.insert().values(
                    created_at=datetime.now(UTC),
                    kind=kind,
                    guild_id=guild_id,
                    channel_id=channel_id,
                    user_id=user_id,
                    message_id=message_id,
                    text=text,
                    rating=rating,
                )
            )
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    async def feedback_rows(self) -> list[dict[str, Any]]:
        async with self.engine.connect() as conn:
            return [
                dict(r._mapping)
                for r in (await conn.execute(select(tables.feedback).order_by(tables.feedback.c.id))).all()
            ]
