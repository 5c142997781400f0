"""Tokens that arrive close together leave the node as one.

A fast model streams a token every few milliseconds, and each one crosses LangGraph's stream, the door's
event loop and its renderer: about half a millisecond of CPU apiece. What a member sees changes no
faster than a door redraws (a Discord edit about once a second, a terminal at human speed), so after the
first token, which goes out at once, tokens within `interval_s` of the last write are joined and written
together when the interval ends (or earlier, before any other stream item, keeping the order)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from agent.stream import Token

INTERVAL_S = 0.05


class TokenBatcher:
    """A stream writer in front of `writer`. Call `flush()` when the round ends: held text goes out then."""

    def __init__(
        self, writer: Callable[[Any], None], interval_s: float = INTERVAL_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._writer = writer
        self._interval = interval_s
        self._clock = clock
        self._held: list[str] = []
        self._last = float("-inf")  # when text last went out
        self._timer: asyncio.TimerHandle | None = None

    def __call__(self, item: Any) -> None:
        if not isinstance(item, Token):
            self.flush()
            self._writer(item)
            return
        now = self._clock()
        if not self._held and now - self._last >= self._interval:
            self._last = now
            self._writer(item)
            return
        self._held.append(item.text)
        if self._timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no loop (a synchronous caller): nothing could flush later
                self.flush()
                return
            self._timer = loop.call_later(max(0.0, self._last + self._interval - now), self.flush)

    def flush(self) -> None:
        """Write the held text now, as one token."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._held:
            self._writer(Token(text="".join(self._held)))
            self._held = []  # only once written: a write that failed is tried again by the next flush
            self._last = self._clock()
