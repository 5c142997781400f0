"""Which characters are in a channel's cast, since when (they know only what came after)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from agent.cache import TtlCache
from agent.ids import new_snowflake
from agent.memory import tables
from agent.memory.db import upsert

CACHE_SECONDS = 2.0  # every message in every channel asks; another process sees a change this soon


@dataclass(frozen=True)
class CastEntry:
    persona: str
    joined_after_id: int
    model: str = ""


class CastStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._dialect = engine.dialect.name
        self._cache: TtlCache[int, list[CastEntry]] = TtlCache(CACHE_SECONDS)

    async def add(self, channel_id: int, persona: str, model: str = "") -> None:
        """Join (or rejoin: it starts witnessing afresh); `model` overrides the card's for this channel."""
        values = {"channel_id": channel_id, "persona": persona, "joined_after_id": new_snowflake(), "model": model}
        async with self.engine.begin() as conn:
            await conn.execute(upsert(self._dialect, tables.cast_members, values, ["channel_id", "persona"]))
        self._cache.forget(channel_id)

    async def set_model(self, channel_id: int, persona: str, model: str) -> bool:
        members = {m.persona.lower(): m for m in await self.members(channel_id)}
        entry = members.get(persona.lower())
        if entry is None:
            return False
        values = {"channel_id": channel_id, "persona": entry.persona, "joined_after_id": entry.joined_after_id}
        async with self.engine.begin() as conn:
            await conn.execute(
                upsert(self._dialect, tables.cast_members, {**values, "model": model}, ["channel_id", "persona"])
            )
        self._cache.forget(channel_id)
        return True

    async def remove(self, channel_id: int, persona: str) -> bool:
        async with self.engine.begin() as conn:
            result = await conn.execute(
                delete(tables.cast_members).where(
                    tables.cast_members.c.channel_id == channel_id, tables.cast_members.c.persona == persona
                )
            )
        self._cache.forget(channel_id)
        return bool(result.rowcount)

    async def members(self, channel_id: int) -> list[CastEntry]:
        cached = self._cache.get(channel_id)
        if cached is not None:
            return cached
        c = tables.cast_members.c
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(c.persona, c.joined_after_id, c.model).where(c.channel_id == channel_id).order_by(c.persona)
                )
            ).all()
        members = [CastEntry(str(p), int(j), str(m or "")) for p, j, m in rows]
        self._cache.put(channel_id, members)
        return members
