"""A server's own settings (access lists and quotas, issue J), over the defaults from the file."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from agent.memory import tables
from agent.memory.db import upsert
from agent.memory.record.writes import RecordCore


class GuildSettingsStore(RecordCore):
    async def guild_settings(self, guild_id: int) -> dict[str, Any]:
        async with self.engine.connect() as conn:
            value = await conn.scalar(
                select(tables.guild_settings.c.settings).where(tables.guild_settings.c.guild_id == guild_id)
            )
        return dict(value or {})

    async def update_guild_section(self, guild_id: int, section: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Merge `changes` into one section ("access", "quotas"); a None value goes back to the file's."""
        settings = await self.guild_settings(guild_id)
        part = dict(settings.get(section) or {})
        for key, value in changes.items():
            if value is None:
                part.pop(key, None)
            else:
                part[key] = value
        settings[section] = part
        await self._save_guild_settings(guild_id, settings)
        return part

    async def reset_guild_section(self, guild_id: int, section: str) -> None:
        settings = await self.guild_settings(guild_id)
        settings.pop(section, None)
        await self._save_guild_settings(guild_id, settings)

    async def _save_guild_settings(self, guild_id: int, settings: dict[str, Any]) -> None:
        values = {"guild_id": guild_id, "settings": settings, "updated_at": datetime.now(UTC)}
        async with self.engine.begin() as conn:
            await conn.execute(upsert(self._dialect, tables.guild_settings, values, ["guild_id"]))
