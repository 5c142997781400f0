"""Is a member over a quota, and from when may they ask again."""

from __future__ import annotations

from dataclasses import dataclass

from agent.access.ledger import DAY, HOUR, Key, UsageLedger
from agent.access.policy import QuotaLimits
from agent.member_texts import QUOTA_OFF, over_quota_note


@dataclass(frozen=True)
class OverQuota:
    limit: str  # which one: replies_per_hour, tokens_per_day, usd_per_day
    used: str  # "3 of 3 replies this hour"
    free_at: float | None  # wall-clock seconds; None: the limit is zero, asking never helps


def _free_after(entries: list[tuple[float, float]], limit: float, window: float) -> float:
    """When the total of (when, amount) entries in the window drops below `limit` as old ones leave it."""
    total = sum(amount for _, amount in entries)
    for when, amount in entries:
        total -= amount
        if total < limit:
            return when + window
    return entries[-1][0] + window


def over_quota(limits: QuotaLimits, ledger: UsageLedger, key: Key, now: float) -> OverQuota | None:
    if limits.replies_per_hour is not None:
        replies = ledger.replies(key, now)
        if len(replies) >= limits.replies_per_hour:
            free = _free_after([(t, 1.0) for t in replies], limits.replies_per_hour, HOUR) if replies else None
            used = f"{len(replies)} of {limits.replies_per_hour} replies this hour"
            return OverQuota("replies_per_hour", used, free if limits.replies_per_hour else None)
    if limits.tokens_per_day is None and limits.usd_per_day is None:
        return None
    spend = ledger.spend(key, now)
    tokens = sum(s[1] for s in spend)
    if limits.tokens_per_day is not None and tokens >= limits.tokens_per_day:
        free = _free_after([(s[0], float(s[1])) for s in spend], limits.tokens_per_day, DAY) if spend else None
        used = f"{tokens:,} of {limits.tokens_per_day:,} tokens today"
        return OverQuota("tokens_per_day", used, free if limits.tokens_per_day else None)
    usd = sum(s[2] for s in spend)
    if limits.usd_per_day is not None and usd >= limits.usd_per_day:
        free = _free_after([(s[0], s[2]) for s in spend], limits.usd_per_day, DAY) if spend else None
        used = f"${usd:.2f} of ${limits.usd_per_day:.2f} today"
        return OverQuota("usd_per_day", used, free if limits.usd_per_day else None)
    return None


def wait_words(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def quota_note(over: OverQuota, now: float) -> str:
    if over.free_at is None:
        return QUOTA_OFF
    return over_quota_note(over.used, wait_words(over.free_at - now))
