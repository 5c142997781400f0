"""What each member has used lately, in memory: the quota check reads it without a query.

Fed by every usage row the record queues, and seeded from the record's last day of usage at start, so a
restart (or a new `observer chat --once` process) does not reset anyone's quota. One process serves a
server (Discord shards split servers), so the process's own count is the server's."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

HOUR = 3600.0
DAY = 86400.0
# Calls made on a member's behalf: what their messages cost (background profile refreshes are the bot's).
COUNTED = frozenset({"judge", "reply"})

Key = tuple[int, int]  # (guild id or 0 for direct messages, member id)


def key_of(guild_id: int | None, user_id: int) -> Key:
    return (guild_id or 0, user_id)


@dataclass
class _Member:
    replies: deque[tuple[float, int]] = field(default_factory=deque)  # (when, message id), last hour
    replied: set[int] = field(default_factory=set)
    spend: deque[tuple[float, int, float]] = field(default_factory=deque)  # (when, tokens, usd), last day


class UsageLedger:
    def __init__(self) -> None:
        self._members: dict[Key, _Member] = {}

    def note(self, row: dict[str, Any], when: float | None = None) -> None:
        """One usage row as the record writes it."""
        user_id = row.get("user_id")
        if user_id is None or row.get("purpose") not in COUNTED:
            return
        at = time.time() if when is None else when
        member = self._members.setdefault(key_of(row.get("guild_id"), int(user_id)), _Member())
        tokens = int(row.get("tokens_in") or 0) + int(row.get("tokens_out") or 0)
        if tokens or row.get("cost_usd"):
            member.spend.append((at, tokens, float(row.get("cost_usd") or 0.0)))
        message_id = row.get("message_id")
        if row.get("purpose") == "reply" and row.get("ok", True) and message_id is not None:
            if message_id not in member.replied:
                member.replied.add(message_id)
                member.replies.append((at, int(message_id)))

    def seed(self, rows: list[dict[str, Any]]) -> None:
        for row in sorted(rows, key=lambda r: r["created_at"].timestamp()):
            self.note(row, row["created_at"].timestamp())

    def reseed(self, rows: list[dict[str, Any]]) -> None:
        """Start again from `rows` (every process's usage, as recorded): servers that moved here from
        another process bring what their members used there."""
        self._members.clear()
        self.seed(rows)

    def _trimmed(self, key: Key, now: float) -> _Member | None:
        member = self._members.get(key)
        if member is None:
            return None
        while member.replies and member.replies[0][0] <= now - HOUR:
            member.replied.discard(member.replies.popleft()[1])
        while member.spend and member.spend[0][0] <= now - DAY:
            member.spend.popleft()
        return member

    def replies(self, key: Key, now: float) -> list[float]:
        """When each reply of the last hour was given, oldest first."""
        member = self._trimmed(key, now)
        return [t for t, _ in member.replies] if member else []

    def spend(self, key: Key, now: float) -> list[tuple[float, int, float]]:
        """(when, tokens, usd) of the last day, oldest first."""
        member = self._trimmed(key, now)
        return list(member.spend) if member else []

    def top(self, guild_id: int | None, now: float, count: int) -> list[tuple[int, int, int, float]]:
        """(member id, replies this hour, tokens today, usd today), most tokens first."""
        rows = []
        for (guild, user), _ in list(self._members.items()):
            if guild != (guild_id or 0):
                continue
            spend = self.spend((guild, user), now)
            rows.append(
                (user, len(self.replies((guild, user), now)), sum(s[1] for s in spend), sum(s[2] for s in spend))
            )
        rows.sort(key=lambda r: (r[2], r[3], r[1]), reverse=True)
        return [r for r in rows if r[1] or r[2] or r[3]][:count]
