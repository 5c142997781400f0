"""Persona cards in the record, and which one speaks in each guild or channel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from agent.cache import TtlCache
from agent.memory import tables
from agent.memory.db import upsert
from agent.memory.persona_files import PersonaCard
from agent.memory.scopes import persona_places

CACHE_SECONDS = 5.0
DEFAULT_PERSONA = "observer"  # prompts/persona.md


@dataclass(frozen=True)
class StoredPersona:
    scope: str
    card: PersonaCard


class PersonaCatalog:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._dialect = engine.dialect.name
        self._found: TtlCache[tuple[str, ...], StoredPersona | None] = TtlCache(CACHE_SECONDS)
        self._chosen: TtlCache[tuple[int | None, int], str | None] = TtlCache(CACHE_SECONDS)

    async def save(self, card: PersonaCard, scope: str) -> None:
        values = {
            "scope": scope,
            "name": card.name,
            "description": card.description,
            "style": card.style,
            "examples": card.examples,
            "source": card.source,
            "updated_at": datetime.now(UTC),
            "talkativeness": card.talkativeness,
            "model": card.model,
            "avatar": card.avatar,
        }
        async with self.engine.begin() as conn:
            await conn.execute(upsert(self._dialect, tables.personas, values, ["scope", "name"]))
        self._found.clear()
        self._chosen.clear()

    async def remove(self, scope: str, names: list[str]) -> None:
        if not names:
            return
        async with self.engine.begin() as conn:
            await conn.execute(
                delete(tables.personas).where(tables.personas.c.scope == scope, tables.personas.c.name.in_(names))
            )
        self._found.clear()
        self._chosen.clear()

    async def listing(self, scopes: list[str]) -> list[StoredPersona]:
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(tables.personas).where(tables.personas.c.scope.in_(scopes)).order_by(tables.personas.c.name)
                )
            ).mappings()
            return [StoredPersona(r["scope"], self._card(r)) for r in rows]

    @staticmethod
    def _card(row: Any) -> PersonaCard:
        return PersonaCard(
            name=row["name"],
            description=row["description"],
            style=row["style"],
            examples=list(row["examples"] or []),
            source=row["source"],
            talkativeness=float(row["talkativeness"]),
            model=row["model"] or "",
            avatar=row["avatar"],
        )

    async def find(self, name: str, scopes: list[str]) -> StoredPersona | None:
        """The persona by that name in the most specific readable scope (a guild's own beats global)."""
        key = (name.lower(), *scopes)
        fresh, cached = self._found.lookup(key)
        if fresh:
            return cached
        found = [p for p in await self.listing(scopes) if p.card.name.lower() == name.lower()]
        found.sort(key=lambda p: scopes.index(p.scope), reverse=True)
        result = found[0] if found else None
        self._found.put(key, result)
        return result

    async def choose(self, place: str, persona: str | None) -> None:
        """Set (or with None, clear) the persona for "guild:<id>" or "channel:<id>"."""
        async with self.engine.begin() as conn:
            if persona is None:
                await conn.execute(delete(tables.persona_choices).where(tables.persona_choices.c.place == place))
            else:
                await conn.execute(
                    upsert(self._dialect, tables.persona_choices, {"place": place, "persona": persona}, ["place"])
                )
        self._found.clear()
        self._chosen.clear()

    async def chosen(self, guild_id: int | None, channel_id: int) -> str | None:
        """The channel's choice, else the guild's, else None."""
        key = (guild_id, channel_id)
        fresh, cached = self._chosen.lookup(key)
        if fresh:
            return cached
        places = persona_places(guild_id, channel_id)
        async with self.engine.connect() as conn:
            found = await conn.execute(
                select(tables.persona_choices.c.place, tables.persona_choices.c.persona).where(
                    tables.persona_choices.c.place.in_(places)
                )
            )
            rows: dict[str, str] = {str(p): str(n) for p, n in found.all()}
        result = next((rows[p] for p in places if p in rows), None)
        self._chosen.put(key, result)
        return result
