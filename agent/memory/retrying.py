"""Run one database operation again, with backoff, while it fails only because the database is locked,
full or unreachable for now; give up (raising the last error) after `patience` seconds."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from agent.memory.faults import dependency_down, fault_summary

log = logging.getLogger(__name__)

T = TypeVar("T")

FIRST_PAUSE_S = 0.25
LONGEST_PAUSE_S = 5.0


async def retrying(operation: Callable[[], Awaitable[T]], patience: float, what: str) -> T:
    loop = asyncio.get_running_loop()
    started = loop.time()
    pause = FIRST_PAUSE_S
    attempt = 0
    while True:
        attempt += 1
        try:
            return await operation()
        except Exception as exc:
            if not dependency_down(exc) or loop.time() - started >= patience:
                raise
            if attempt == 1:
                log.warning("record: %s failed (%s); retrying", what, fault_summary(exc))
        await asyncio.sleep(pause)
        pause = min(LONGEST_PAUSE_S, pause * 2)
