"""`since:` as members write it ("yesterday", "2h", "3 days", "昨日", "ontem", "вчера") → a moment in UTC.

Short durations (`90m`, `2h`, `3d`, `1w`, `2 hours`) are read here; everything else by `dateparser`,
relative to a given clock, preferring the past. The member's language (from their Discord locale) is
tried first, then every language dateparser knows, so a Russian word from an English locale still
parses. "yesterday" is what dateparser makes of it: the same time of day, one day earlier.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

DEFAULT_SINCE = timedelta(hours=24)

_UNITS = {
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 604800,
    "wk": 604800,
    "week": 604800,
    "weeks": 604800,
}
_SHORT = re.compile(r"(\d{1,5}(?:\.\d+)?)\s*([a-z]+)(?:\s+ago)?")
# "since yesterday" reads like "yesterday", "the last 2 hours" like "2 hours": such words are left out
# before parsing, in the languages served ("desde ontem", "昨日から", "с вчерашнего дня").
_SINCE_WORD = re.compile(r"^\s*(?:since|(?:the\s+)?(?:last|past)|desde|nas?\s+últimas?|últimas?|с|за)\s+", re.I)
_SINCE_SUFFIX = re.compile(r"\s*(?:から|以降|以来)\s*$")
_TIME_OF_DAY = re.compile(r"\d{1,2}(?:[:h]\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.|h|時(?:\d{1,2}分)?)?", re.I)
# Genitive and idiomatic forms dateparser does not read, as the word it does.
_SAME_AS = {
    "вчерашнего дня": "вчера",
    "позавчерашнего дня": "позавчера",
    "half an hour": "30 minutes",
    "meia hora": "30 minutes",
    "полчаса": "30 minutes",
}


class SinceError(ValueError):
    """`since:` could not be read as a past moment; the message is a line a member can read."""


def parse_since(text: str | None, now: datetime, language: str | None = None, zone: str = "UTC") -> datetime:
    """The moment `text` names, in UTC, not after `now` (aware). Empty: `DEFAULT_SINCE` before `now`.

    `language`: an ISO 639-1 code ("ja", "pt"), tried first. `zone`: the member's IANA time zone, in
    which "9am", "this morning" or "Monday" are read. Raises SinceError for text that names no time,
    or a time in the future."""
    now = now.astimezone(UTC)
    cleaned = _SINCE_SUFFIX.sub("", _SINCE_WORD.sub("", (text or "").strip()))
    cleaned = _SAME_AS.get(cleaned.lower(), cleaned)
    if not cleaned:
        return now - DEFAULT_SINCE
    short = _SHORT.fullmatch(cleaned.lower())
    if short is not None and short.group(2) in _UNITS:
        return now - timedelta(seconds=float(short.group(1)) * _UNITS[short.group(2)])
    found = _dateparser(cleaned, now, language, zone)
    if found is None:
        raise SinceError(f"I could not read {text!r} as a time; try “yesterday”, “2h” or “3 days”.")
    if found > now and _TIME_OF_DAY.fullmatch(cleaned):
        found -= timedelta(days=1)  # "since 9am" at 00:30 is yesterday's 9am
    if found > now + timedelta(minutes=1):
        raise SinceError(f"{text!r} is in the future; a summary covers what was already said.")
    return min(found, now)


def _dateparser(text: str, now: datetime, language: str | None, zone: str = "UTC") -> datetime | None:
    import dateparser  # imported when a member asks: it loads its language data (~0.3 s) on first use

    settings = {
        # The member's wall clock: "9am" and "yesterday" are theirs, not UTC's.
        "RELATIVE_BASE": now.astimezone(ZoneInfo(zone)).replace(tzinfo=None),
        "PREFER_DATES_FROM": "past",
        "TIMEZONE": zone,
        "TO_TIMEZONE": "UTC",
        "RETURN_AS_TIMEZONE_AWARE": True,
    }
    tries: list[list[str] | None] = [[language]] if language else []
    tries.append(None)  # every language
    for languages in tries:
        try:
            found = dateparser.parse(text, languages=languages, settings=settings)  # type: ignore[arg-type]
        except ValueError:  # a language dateparser does not know
            continue
        if found is not None:
            return found.astimezone(UTC)
    return None
