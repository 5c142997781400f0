"""Flood control: a member addressing the bot many times in seconds is answered once and told to slow down.

Arrivals are noted by the door the moment a message comes in (so messages still waiting in a queue
count) and again by the graph's ingest (the console and Studio have no door); a message counts once.
A message is judged by the arrivals up to its own: the first of a burst is answered even when the
rest of the burst arrived before its run started."""

from __future__ import annotations

from collections import OrderedDict, deque

from agent.access.ledger import Key
from agent.access.policy import FloodPolicy

SEEN_KEPT = 4096
PER_MEMBER_KEPT = 64
KEPT_SECONDS = 3600.0  # a message may wait in a queue a long while; its burst is still known


class FloodWatch:
    def __init__(self) -> None:
        self._arrivals: dict[Key, deque[float]] = {}
        self._arrived_at: OrderedDict[int, float] = OrderedDict()  # message id → arrival
        self._episode_until: dict[Key, float] = {}

    def arrived(self, key: Key, message_id: int, now: float) -> None:
        if message_id in self._arrived_at:
            return
        self._arrived_at[message_id] = now
        if len(self._arrived_at) > SEEN_KEPT:
            self._arrived_at.popitem(last=False)
        arrivals = self._arrivals.setdefault(key, deque(maxlen=PER_MEMBER_KEPT))
        arrivals.append(now)
        while arrivals and arrivals[0] < now - KEPT_SECONDS:
            arrivals.popleft()

    def flooding(self, key: Key, message_id: int, policy: FloodPolicy, now: float) -> bool:
        """Had this member sent `policy.messages` addressed messages within `policy.seconds` when this one came?"""
        at = self._arrived_at.get(message_id, now)
        arrivals = self._arrivals.get(key, ())
        return sum(1 for t in arrivals if at - policy.seconds <= t <= at) >= policy.messages

    def skip(self, key: Key, policy: FloodPolicy, now: float) -> bool:
        """A flooding member's message is skipped; True when this is the first of the episode (say so)."""
        first = self._episode_until.get(key, float("-inf")) < now
        self._episode_until[key] = now + policy.seconds
        return first
