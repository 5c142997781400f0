"""What the record keeps about members: privacy choice, recent messages, profiles."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, select

from agent.memory import tables
from agent.memory.db import upsert
from agent.memory.record.writes import RecordCore

log = logging.getLogger(__name__)


class MemberData(RecordCore):
    """What the record keeps about members: privacy choice, recent messages, profiles."""

    async def set_privacy(self, user_id: int, name: str, mode: str) -> None:
        if mode not in ("private", "public"):
            raise ValueError("privacy must be private or public")
        async with self.engine.begin() as conn:
            await conn.execute(
                upsert(
                    self._dialect,
                    tables.users,
                    {"id": user_id, "name": name, "is_bot": False, "privacy": mode},
                    ["id"],
                    update=["privacy"],
                )
            )

    async def privacy(self, user_id: int) -> str:
        async with self.engine.connect() as conn:
            value = await conn.scalar(select(tables.users.c.privacy).where(tables.users.c.id == user_id))
        return str(value or "private")

    async def member_messages(self, user_id: int, guild_id: int | None, limit: int = 30) -> list[str]:
        """A member's latest messages in one guild (or in DMs), oldest first."""
        await self.flush()
        query = (
            select(tables.messages.c.content)
            .join(tables.channels, tables.channels.c.id == tables.messages.c.channel_id)
            .where(
                and_(
                    tables.messages.c.author_id == user_id,
                    tables.messages.c.deleted_at.is_(None),
                    tables.messages.c.content != "",
                )
            )
        )
        if guild_id is None:
            query = query.where(tables.channels.c.is_dm.is_(True))
        else:
            query = query.where(tables.channels.c.guild_id == guild_id)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query.order_by(tables.messages.c.id.desc()).limit(limit))).all()
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
        stmt = upsert(self._dialect, tables.member_profiles, values, ["user_id", "guild_id"])
        async with self.engine.begin() as conn:
            await conn.execute(stmt)
        self._profile_cache.put((user_id, guild_id or 0), dict(values))

    async def profile(self, user_id: int, guild_id: int | None) -> dict[str, Any] | None:
        """The member's profile in this guild (DM profiles are separate), cached briefly."""
        key = (user_id, guild_id or 0)
        cached = self._profile_cache.get(key)
        if cached is not None:
            return cached or None
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(tables.member_profiles).where(
                        and_(tables.member_profiles.c.user_id == key[0], tables.member_profiles.c.guild_id == key[1])
                    )
                )
            ).first()
        value = dict(row._mapping) if row else {}
        self._profile_cache.put(key, value)
        return value or None
