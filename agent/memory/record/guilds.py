"""A server's own settings (access lists and quotas, issue J; how answers look), over the file's defaults."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from agent.memory import tables
from agent.memory.db import upsert
from agent.memory.record.writes import RecordCore

# The section of a server's settings about how answers look (`/observer footer`).
ANSWERS = "answers"


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

    async def shows_footer(self, guild_id: int | None) -> bool:
        """Whether answers in this server carry the model · tokens · cost line (off unless an admin set it)."""
        if guild_id is None:
            return False
        return bool((await self.guild_settings(guild_id)).get(ANSWERS, {}).get("footer"))

    async def set_footer(self, guild_id: int, on: bool) -> None:
        await self.update_guild_section(guild_id, ANSWERS, {"footer": True if on else None})

    async def _save_guild_settings(self, guild_id: int, settings: dict[str, Any]) -> None:
        values = {"guild_id": guild_id, "settings": settings, "updated_at": datetime.now(UTC)}
        async with self.engine.begin() as conn:
            await conn.execute(upsert(self._dialect, tables.guild_settings, values, ["guild_id"]))
