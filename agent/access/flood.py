"""Flood control: a member addressing the bot many times in seconds is answered once and told to slow down.

Arrivals are noted by the door the moment a message comes in (so messages still waiting in a queue
count) and again by the graph's ingest (the console and Studio have no door); a message counts once."""

from __future__ import annotations

from collections import OrderedDict, deque

from agent.access.ledger import Key
from agent.access.policy import FloodPolicy

SEEN_KEPT = 4096


class FloodWatch:
    def __init__(self) -> None:
        self._arrivals: dict[Key, deque[float]] = {}
        self._seen: OrderedDict[int, None] = OrderedDict()
        self._episode_until: dict[Key, float] = {}

    def arrived(self, key: Key, message_id: int, now: float) -> None:
        if message_id in self._seen:
            return
        self._seen[message_id] = None
        if len(self._seen) > SEEN_KEPT:
            self._seen.popitem(last=False)
        self._arrivals.setdefault(key, deque()).append(now)

    def flooding(self, key: Key, policy: FloodPolicy, now: float) -> bool:
        arrivals = self._arrivals.get(key)
        if not arrivals:
            return False
        while arrivals and arrivals[0] < now - policy.seconds:
            arrivals.popleft()
        if not arrivals:
            del self._arrivals[key]
            return False
        return len(arrivals) >= policy.messages

    def skip(self, key: Key, policy: FloodPolicy, now: float) -> bool:
        """A flooding member's message is skipped; True when this is the first of the episode (say so)."""
        first = self._episode_until.get(key, float("-inf")) < now
        self._episode_until[key] = now + policy.seconds
        return first
