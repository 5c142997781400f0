"""Which models are resting after a 429 or repeated failures, stored so restarts and other processes see it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from agent.memory import tables
from agent.memory.db import upsert

# Other processes' cooldowns are re-read at most this often; our own are seen at once.
REFRESH_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 300.0


@dataclass(frozen=True)
class Cooldown:
    model: str
    until: datetime
    failures: int
    reason: str

    def seconds_left(self, now: datetime | None = None) -> float:
        return max(0.0, (self.until - (now or datetime.now(UTC))).total_seconds())


def backoff_seconds(failures: int, retry_after: float | None) -> float:
    """Honour Retry-After; without it, 2, 4, 8 … seconds, capped."""
    if retry_after is not None and retry_after > 0:
        return min(retry_after, MAX_BACKOFF_SECONDS * 4)
    return min(2.0 ** max(failures, 1), MAX_BACKOFF_SECONDS)


class CooldownStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._dialect = engine.dialect.name
        self._cache: dict[str, Cooldown] = {}
        self._read_at = float("-inf")

    async def active(self) -> dict[str, Cooldown]:
        """Models still cooling now."""
        if time.monotonic() - self._read_at >= REFRESH_SECONDS:
            async with self.engine.connect() as conn:
                rows = (await conn.execute(select(tables.model_cooldowns))).all()
            self._cache = {r.model: Cooldown(r.model, _aware(r.until), r.failures, r.reason) for r in rows}
            self._read_at = time.monotonic()
        now = datetime.now(UTC)
        return {name: c for name, c in self._cache.items() if c.until > now}

    async def cool(self, model: str, *, retry_after: float | None, reason: str) -> Cooldown:
        previous = self._cache.get(model)
        failures = (previous.failures if previous is not None else 0) + 1
        until = datetime.now(UTC) + timedelta(seconds=backoff_seconds(failures, retry_after))
        values: dict[str, Any] = {"model": model, "until": until, "failures": failures, "reason": reason[:500]}
        stmt = upsert(self._dialect, tables.model_cooldowns, values, ["model"])
        async with self.engine.begin() as conn:
            await conn.execute(stmt)
        cooldown = Cooldown(model, until, failures, reason)
        self._cache[model] = cooldown
        return cooldown

    async def clear(self, model: str) -> None:
        """A successful call: the model is healthy again and its failure count resets."""
        if model not in self._cache:
            return
        async with self.engine.begin() as conn:
            await conn.execute(delete(tables.model_cooldowns).where(tables.model_cooldowns.c.model == model))
        self._cache.pop(model, None)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
