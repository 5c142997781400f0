"""Per-channel mode and settings, cached briefly for the hot path."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select, update

from agent.events import Event
from agent.memory import tables
from agent.memory.record.writes import RecordCore

log = logging.getLogger(__name__)

CHANNEL_MODES = ("off", "mentions", "auto", "observe")


class ChannelSettings(RecordCore):
    """Per-channel mode and settings, cached briefly for the hot path."""

    async def set_channel_mode(self, channel_id: int, mode: str) -> None:
        if mode not in CHANNEL_MODES:
            raise ValueError(f"mode must be one of {', '.join(CHANNEL_MODES)}")
        async with self.engine.begin() as conn:
            await conn.execute(update(tables.channels).where(tables.channels.c.id == channel_id).values(mode=mode))
        self._modes.put(channel_id, mode)

    async def channel_mode(self, channel_id: int) -> str:
        await self.flush()
        async with self.engine.connect() as conn:
            mode = await conn.scalar(select(tables.channels.c.mode).where(tables.channels.c.id == channel_id))
        return str(mode or "mentions")

    async def ensure_channel(self, event: Event) -> None:
        """Create the channel row (slash commands can come before any message)."""
        async with self.engine.begin() as conn:
            await self._ensure_place(conn, event)

    async def channel_settings(self, channel_id: int) -> dict[str, Any]:
        async with self.engine.connect() as conn:
            value = await conn.scalar(select(tables.channels.c.settings).where(tables.channels.c.id == channel_id))
        return dict(value or {})

    async def update_channel_settings(self, channel_id: int, **changes: Any) -> dict[str, Any]:
        """Merge changes into a channel's settings (None removes a key)."""
        settings = await self.channel_settings(channel_id)
        for key, value in changes.items():
            if value is None:
                settings.pop(key, None)
            else:
                settings[key] = value
        async with self.engine.begin() as conn:
            await conn.execute(
                update(tables.channels).where(tables.channels.c.id == channel_id).values(settings=settings)
            )
        self._settings.put(channel_id, settings)
        return settings

    async def cached_channel_settings(self, channel_id: int) -> dict[str, Any]:
        """Channel settings, trusted for MODE_CACHE_SECONDS (the hot path reads them every message)."""
        cached = self._settings.get(channel_id)
        if cached is not None:
            return cached
        settings = await self.channel_settings(channel_id)
        self._settings.put(channel_id, settings)
        return settings
