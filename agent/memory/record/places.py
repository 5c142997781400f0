"""The guild, channel and member rows a message needs, upserted once per process each (then trusted)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncConnection

from agent.cache import TtlCache
from agent.events import Event
from agent.memory import tables
from agent.memory.db import upsert


class KnownRows:
    """Keys (table, id, names) of rows this process wrote; a name change writes the row again."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self.keys: set[tuple[str, int, str]] = set()

    async def ensure(
        self,
        conn: AsyncConnection,
        table: Table,
        values: dict[str, Any],
        names: Sequence[str],
        added: set[tuple[str, int, str]] | None = None,
    ) -> None:
        """Upsert a guild, channel or member row unless known; `added` collects the keys to trust only
        once the transaction commits (a rolled-back upsert must be made again on the retry)."""
        key = (table.name, int(values["id"]), "|".join(str(values[n]) for n in names))
        if key in self.keys or (added is not None and key in added):
            return
        await conn.execute(upsert(self.dialect, table, values, ["id"], update=names))
        if added is None:
            self.keys.add(key)
        else:
            added.add(key)

    async def ensure_place(
        self, conn: AsyncConnection, event: Event, added: set[tuple[str, int, str]] | None = None
    ) -> None:
        """The message's guild (if any) and channel rows."""
        if event.guild_id is not None:
            await self.ensure(
                conn, tables.guilds, {"id": event.guild_id, "name": event.guild_name or ""}, ["name"], added
            )
        channel: dict[str, Any] = {
            "id": event.channel_id,
            "guild_id": event.guild_id,
            "name": event.channel_name,
            "is_dm": event.is_dm,
            "mode": "mentions",
            "settings": {},
        }
        await self.ensure(conn, tables.channels, channel, ["name"], added)


async def channel_modes(conn: AsyncConnection, channel_ids: set[int], cache: TtlCache[int, str]) -> dict[int, str]:
    """Each channel's mode (mentions, auto, off ...), from the short-lived cache or the database."""
    modes = {cid: mode for cid in channel_ids if (mode := cache.get(cid)) is not None}
    stale = channel_ids - modes.keys()
    if stale:
        found = await conn.execute(
            select(tables.channels.c.id, tables.channels.c.mode).where(tables.channels.c.id.in_(stale))
        )
        for channel_id, mode in found:
            modes[channel_id] = mode
            cache.put(channel_id, mode)
    return modes
