"""Keeps member profiles fresh: after N new messages from a member, the profile graph runs in the
background. Never on the reply path: a reply never waits for it.

Profiles only matter for members the bot answers, so the refresh starts on that member's next
message addressed to the bot (mention, reply, DM); chatter from members who never talk to the bot
costs no model call.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from agent.events import Event
from agent.rules import addresses_bot

log = logging.getLogger(__name__)

# Runs the profile graph for the member who sent this event (given by the graph that notes it).
Refresh = Callable[[Event], Awaitable[Any]]


class ProfileRefresher:
    def __init__(self, every_n: int) -> None:
        self.every_n = every_n
        self._counts: dict[tuple[int, int], int] = {}
        self._running: dict[tuple[int, int], asyncio.Task[Any]] = {}

    def note(self, event: Event, refresh: Refresh) -> bool:
        """Count a member's message; start `refresh` in the background when due. True if one started."""
        if event.author_is_bot or not self.every_n:
            return False
        key = (event.author_id, event.guild_id or 0)
        self._counts[key] = self._counts.get(key, 0) + 1
        if self._counts[key] < self.every_n or key in self._running or not addresses_bot(event):
            return False
        self._counts[key] = 0
        task = asyncio.create_task(self._refresh(event, refresh))
        self._running[key] = task
        task.add_done_callback(lambda _t: self._running.pop(key, None))
        return True

    async def _refresh(self, event: Event, refresh: Refresh) -> None:
        try:
            await refresh(event)
        except Exception:
            log.exception("profile refresh for member %s failed", event.author_id)  # an id: no names in logs

    async def drain(self) -> None:
        """Wait for refreshes in flight (shutdown, tests)."""
        while self._running:
            await asyncio.gather(*list(self._running.values()), return_exceptions=True)
