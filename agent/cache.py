"""One small time-to-live cache for the hot path's reads (channel modes and settings, profiles)."""

from __future__ import annotations

import time
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """Values trusted for `ttl_s` after they were put; another process's change shows within that time."""

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._items: dict[K, tuple[V, float]] = {}

    def get(self, key: K) -> V | None:
        return self.lookup(key)[1]

    def lookup(self, key: K) -> tuple[bool, V | None]:
        """(True, value) while fresh, even when the value cached is None; else (False, None)."""
        item = self._items.get(key)
        if item is None or time.monotonic() - item[1] >= self.ttl_s:
            return False, None
        return True, item[0]

    def __contains__(self, key: K) -> bool:
        return self.get(key) is not None

    def put(self, key: K, value: V) -> None:
        self._items[key] = (value, time.monotonic())

    def amend(self, key: K, value: V) -> None:
        """Change a fresh value without making it fresher (another process's changes still show in time)."""
        item = self._items.get(key)
        if item is not None:
            self._items[key] = (value, item[1])

    def forget(self, key: K) -> None:
        self._items.pop(key, None)

    def clear(self) -> None:
        self._items.clear()
