"""The bot's presence says what it is doing (thinking, talking), debounced so it does not flap."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Apply = Callable[[str | None], Awaitable[None]]


class Presence:
    """Counts runs per activity; shows the busiest one once it has been stable for `settle` seconds."""

    def __init__(self, apply: Apply, settle: float = 1.5, min_interval: float = 5.0) -> None:
        self._apply = apply
        self._settle = settle
        self._min_interval = min_interval
        self._counts = {"thinking": 0, "talking": 0}
        self._shown: str | None = None
        self._pending: asyncio.Task[None] | None = None
        self._last_change = float("-inf")

    @property
    def wanted(self) -> str | None:
        if self._counts["talking"]:
            return "talking"
        if self._counts["thinking"]:
            return "thinking"
        return None

    def enter(self, activity: str) -> None:
        self._counts[activity] += 1
        self._schedule()

    def leave(self, activity: str) -> None:
        self._counts[activity] = max(0, self._counts[activity] - 1)
        self._schedule()

    def _schedule(self) -> None:
        if self._pending is not None and not self._pending.done():
            return  # the pending update reads `wanted` when it fires
        self._pending = asyncio.create_task(self._settle_then_apply())

    async def _settle_then_apply(self) -> None:
        loop = asyncio.get_running_loop()
        await asyncio.sleep(max(self._settle, self._last_change + self._min_interval - loop.time()))
        wanted = self.wanted
        if wanted != self._shown:
            try:
                await self._apply(wanted)
                self._shown = wanted
                self._last_change = loop.time()
            except Exception as exc:  # presence is cosmetic; never break a run over it
                log.debug("presence update failed: %s", exc)
