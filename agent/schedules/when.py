"""When a reminder is due, from what a member wrote ("in 2 hours", "明日の朝9時", "amanhã às 9h",
"завтра в 9"), in their time zone; and time zones themselves.

dateparser does the parsing in every language it knows. A few habits it misreads are rewritten first
(a bare hour after "at"/"às"/"в" it takes for a day or drops; "9h"; parts of the day, "tomorrow
morning", "amanhã de manhã", "завтра утром", "明日の朝", at the hours of DAY_PARTS; "half an hour",
"meia hora", "1時間半後"), and a time that
has passed today means tomorrow ("9am" said at 15:00), as a person means it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

# A reminder further out than this is refused (a misread year, "March 1" read as 2110).
MAX_AHEAD = timedelta(days=366)


class WhenError(ValueError):
    """A time that cannot be used, with one line the member (or the model relaying it) can act on."""


_NOT_IANA = {"localtime", "posixrules", "factory"}


def _is_iana(name: str) -> bool:
    lowered = name.lower()
    return lowered not in _NOT_IANA and not lowered.startswith(("posix/", "right/"))


def zone_named(name: str) -> ZoneInfo:
    """The IANA time zone `name` ("Asia/Tokyo", "utc"); WhenError naming a close match otherwise."""
    cleaned = name.strip()
    if not cleaned or len(cleaned) > 64 or ".." in cleaned or cleaned.startswith("/"):
        raise WhenError(f"{name!r} is not a time zone; use an IANA name such as Europe/Lisbon or Asia/Tokyo")
    if cleaned.upper() == "UTC":
        return ZoneInfo("UTC")
    # Only the IANA names: the system's aliases ("localtime": the server's own zone; "posixrules",
    # "Factory", "posix/…", "right/…") are not a member's time zone.
    known = {z.lower(): z for z in available_timezones() if _is_iana(z)}
    if cleaned in known.values():
        try:
            return ZoneInfo(cleaned)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    wanted = cleaned.replace(" ", "_").lower()
    if wanted in known:
        return ZoneInfo(known[wanted])
    city = [z for key, z in known.items() if key.endswith("/" + wanted)]
    hint = f" (did you mean {city[0]}?)" if city else ""
    raise WhenError(
        f"{name!r} is not a time zone I know{hint}; use an IANA name such as Europe/Lisbon, "
        "America/Sao_Paulo, Europe/Moscow or Asia/Tokyo"
    )


# The time of day a part of the day means ("tomorrow morning", "hoje à noite", "сегодня вечером") and the one
# a date said without a time gets ("friday", "June 1"): one table, documented in the README.
DAY_PARTS = {"morning": 9, "noon": 12, "afternoon": 15, "evening": 20, "night": 20}
DATE_ONLY_HOUR = DAY_PARTS["morning"]

# "in 1h30", "em 2h", "через 1h15m": a duration in hours (and minutes), not a time of day ("1:30").
_H_DURATION = re.compile(
    r"(?i)\b(in|em|daqui a|dentro de|через|after)\s+(\d{1,3})\s*h\s*(?:(\d{1,2})\s*(?:m|min|mins|minutes?)?)?(?![\w:])"
)
_BARE_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
# A time of day in the phrase dateparser put in English.
_HAS_TIME = re.compile(r"(?i)\d{1,2}:\d{2}|\d\s*(?:am|pm)\b|\b(?:noon|midnight)\b")
# Short numeric dates ("03/04") read month first where the member's Discord client speaks these.
_MONTH_FIRST = ("en-US", "ja", "zh", "ko")

# "at 9", "às 9", "в 9", "um 9", "a las 9", "à 9" → "… 9:00" (dateparser reads a bare 9 as a day, or not at all).
_BARE_HOUR = re.compile(r"(?i)(\b(?:at|às|as|à|a las|um|à|в|во|к)\s+)(\d{1,2})(?![\d:.h時])(\s*(?:am|pm)\b)?")
_H_SUFFIX = re.compile(r"(?i)\b(\d{1,2})h(\d{2})?\b")
_JA = [
    (re.compile(r"の?午前(?=\d)"), "am"),
    (re.compile(r"の?午後(?=\d)"), "pm"),
    (re.compile(r"(に|までに|まで|頃|ごろ)$"), ""),
]

# Parts of the day as members say them, with the words around them that mean "in the": the part goes,
# its hour (DAY_PARTS) comes in, or it turns a bare hour into an afternoon one ("evening at 8" is 20:00).
# A part that implies "today" ("tonight", "今夜") leaves "today" in the language of the phrase.
_DAY_PART_WORDS: list[tuple[re.Pattern[str], str, str]] = [
    (re.compile(r"(?i)\btonight\b"), "today", "night"),
    (re.compile(r"(?i)\bthis\s+(morning|afternoon|evening)\b"), "today", ""),
    (re.compile(r"(?i)\b(?:in\s+the\s+|at\s+)?(morning|afternoon|evening|night)\b"), "", ""),
    (re.compile(r"(?i)\besta\s+(manhã|tarde|noite)\b"), "hoje", ""),
    (re.compile(r"(?i)\b(?:de|pela|à|a|na|ao)\s+(manhã|tarde|noite)\b"), "", ""),
    (re.compile(r"(?i)(?<!\w)(утром|днём|днем|вечером|ночью)(?!\w)"), "", ""),
    (re.compile(r"(今夜|今晩)"), "今日", "night"),
    (re.compile(r"の?(朝|午前中|夕方|夜|晩|午後)"), "", ""),
]
_PART_OF_WORD = {
    "manhã": "morning",
    "tarde": "afternoon",
    "noite": "night",
    "утром": "morning",
    "днём": "afternoon",
    "днем": "afternoon",
    "вечером": "evening",
    "ночью": "night",
    "朝": "morning",
    "午前中": "morning",
    "夕方": "evening",
    "夜": "night",
    "晩": "night",
    "午後": "afternoon",
}
_AM_PM = re.compile(r"(?i)\d\s*(?:am|pm)\b")
_CLOCK = re.compile(r"(?<![\d:])(\d{1,2}):(\d{2})(?!\s*(?:am|pm)\b)")


def _day_part(text: str) -> tuple[str, str | None]:
    """The phrase without its part of the day, and that part ("morning", "afternoon", …) if it had one."""
    for pattern, today, part in _DAY_PART_WORDS:
        m = pattern.search(text)
        if m is None:
            continue
        word = part or m.group(1).lower()
        rest = f"{text[: m.start()]} {today} {text[m.end() :]}" if today else f"{text[: m.start()]} {text[m.end() :]}"
        return " ".join(rest.split()), _PART_OF_WORD.get(word, word)
    return text, None


def _with_day_part(text: str, part: str) -> str:
    """A clock time in `text` read in that part of the day (8:00 in the evening: 20:00), or the part's
    own hour added when the phrase has no time."""
    if _AM_PM.search(text):
        return text  # "9pm tonight": the hour is said
    clock = _CLOCK.search(text)
    if clock is None:
        return f"{text} {DAY_PARTS[part]}:00".strip()
    hour = int(clock.group(1))
    if part != "morning" and hour < 12:
        hour += 12
    return f"{text[: clock.start()]}{hour}:{clock.group(2)}{text[clock.end() :]}"


# "half an hour", "meia hora", "полтора часа", "1時間半後": what dateparser cannot read, in minutes.
_HALVES = [
    (re.compile(r"(?i)\b(?:an?|one)\s+hour\s+and\s+a\s+half\b"), "90 minutes"),
    (re.compile(r"(?i)\bhalf\s+an\s+hour\b"), "30 minutes"),
    (re.compile(r"(?i)\b(?:uma\s+)?hora\s+e\s+meia\b"), "90 minutos"),
    (re.compile(r"(?i)\bmeia\s+hora\b"), "30 minutos"),
    (re.compile(r"(?i)(?<!\w)полтора\s+часа(?!\w)"), "90 минут"),
    (re.compile(r"(\d{1,2})時間半"), ""),
]


def _halves(text: str) -> str:
    for pattern, minutes in _HALVES:
        text = pattern.sub(minutes, text) if minutes else pattern.sub(_ja_half, text)
    return text


def _ja_half(m: re.Match[str]) -> str:
    return f"{int(m.group(1)) * 60 + 30}分"


# "am9時半", "pm8時15分", "9時" → "9:30", "20:15", "9:00" (dateparser drops an hour after 午前/朝).
_JA_HOUR = re.compile(r"(am|pm)?(\d{1,2})時(?!間)(?:(\d{1,2})分|(半))?")


def _ja_hour(m: re.Match[str]) -> str:
    hour = int(m.group(2)) % 24
    if m.group(1) == "pm" and hour < 12:
        hour += 12
    minute = m.group(3) or ("30" if m.group(4) else "00")
    return f"{hour}:{int(minute):02d}"


_PT = [(re.compile(r"(?i)\bdaqui a\b"), "em")]


def normalise(text: str) -> str:
    """The phrase with the habits dateparser misreads rewritten (see the module's docstring)."""
    out = _halves(text.strip().rstrip(".!?。！？"))
    out, part = _day_part(out)

    def duration(m: re.Match[str]) -> str:
        hours, minutes = ("ч", "мин") if m.group(1).lower() == "через" else ("h", "min")
        return f"{m.group(1)} {m.group(2)} {hours}" + (f" {m.group(3)} {minutes}" if m.group(3) else "")

    out = _H_DURATION.sub(duration, out)
    out = _H_SUFFIX.sub(lambda m: f"{m.group(1)}:{m.group(2) or '00'}", out)

    def hour(m: re.Match[str]) -> str:
        return f"{m.group(1)}{m.group(2)}:00{m.group(3) or ''}"

    out = _BARE_HOUR.sub(hour, out)
    for pattern, repl in [*_JA, *_PT]:
        out = pattern.sub(repl, out)
    out = _JA_HOUR.sub(_ja_hour, out)
    return _with_day_part(out, part) if part else out


# What a phrase says once dateparser has put it in English: only hours, minutes, seconds from now
# ("in 2 hour", "in 30 minute") is elapsed time; anything else names a day and/or a time of day.
_DURATION = re.compile(r"(?i)^(?:in\s+)?(?:(?:and\s+)?\d+(?:[.,]\d+)?\s*(?:hour|minute|second)s?\s*)+$")


def is_duration(english: str) -> bool:
    return bool(_DURATION.fullmatch(" ".join(english.split())))


def wall_clock(naive: datetime, zone: ZoneInfo) -> datetime:
    """The moment a local wall-clock time names in `zone`, as aware UTC. PEP 495's fold=0 gives the
    first of an ambiguous time (the autumn hour that happens twice) and moves a nonexistent one (in the
    spring gap) forward by the gap (01:30 when clocks go 01:00 → 02:00 is 02:30)."""
    return naive.replace(tzinfo=zone, fold=0).astimezone(UTC)


def date_order(locale: str | None) -> str | None:
    """dateparser's DATE_ORDER for a member whose Discord client speaks `locale` (None: not known)."""
    if not locale:
        return None
    return "MDY" if any(locale == m or locale.startswith(m + "-") for m in _MONTH_FIRST) else "DMY"


def _parse(text: str, zone: ZoneInfo, now: datetime, prefer: str | None, order: str | None = None) -> datetime | None:
    """Read `text` as a naive local time at `now`'s local wall clock, then place it: a pure duration is
    elapsed time from `now`; a day or a time of day is that wall-clock time in `zone` on that date (with
    the UTC offset in force then, not now's)."""
    from dateparser.date import DateDataParser  # ~0.3 s with its language data: loaded on first use
    from dateparser.languages.loader import default_loader

    base = now.astimezone(zone).replace(tzinfo=None)
    settings: dict[str, Any] = {"RELATIVE_BASE": base}
    if prefer:
        settings["PREFER_DATES_FROM"] = prefer
    if order:
        settings["DATE_ORDER"] = order
    parser = DateDataParser(settings=settings)
    data = parser.get_date_data(text)
    found = data.date_obj
    if found is None:
        return None
    if found.tzinfo is not None:  # the phrase named its own zone or offset ("18:30 UTC")
        return found.astimezone(UTC)
    english = ""
    if data.locale:
        locale = next(iter(default_loader.get_locales(locales=[data.locale])), None)
        if locale is not None:
            english = locale.translate(text, settings=parser._settings)
    if is_duration(english):
        return now + (found - base)
    if found.time() == datetime.min.time() and not _HAS_TIME.search(english):
        found = found.replace(hour=DATE_ONLY_HOUR)  # "friday", "June 1": a daytime hour, not midnight
    return wall_clock(found, zone)


def _same_day(moment: datetime, now: datetime, zone: ZoneInfo) -> bool:
    return moment.astimezone(zone).date() == now.astimezone(zone).date()


def _names_no_day(phrase: str, zone: ZoneInfo, now: datetime, due: datetime, order: str | None) -> bool:
    """Whether `phrase` is a time of day alone ("9am", "в 9"): read a day later it is the same time a day
    later. A phrase naming its day ("today 9:00", "2025-06-01 9:00", "friday 9:00") is not."""
    if re.search(r"(?i)\btoday\b|hoje|сегодня|今日|本日", phrase):
        return False
    later = _parse(phrase, zone, now + timedelta(days=1), None, order)
    return later is not None and later.astimezone(zone).date() - due.astimezone(zone).date() == timedelta(days=1)


def parse_when(text: str, zone: ZoneInfo, now: datetime | None = None, *, locale: str | None = None) -> datetime:
    """The moment `text` names, as an aware UTC datetime, read in `zone` at `now` (default: the clock).

    A date without a time, or a time without a date, is read as a person means it: the next such
    moment; a date without a time is at DATE_ONLY_HOUR (09:00) local. A short numeric date ("03/04") is
    read in the order of the member's `locale` when known. Raises WhenError (one line) when it names no
    time, a past one, or one over a year away."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    phrase = normalise(text)
    if not phrase:
        raise WhenError("say when, e.g. 'in 2 hours', 'tomorrow at 9:00' or '2025-06-01 18:30'")
    if _BARE_NUMBER.fullmatch(phrase):
        raise WhenError(f"{phrase} what? e.g. 'at {phrase}:00' or 'in {phrase} minutes'")
    order = date_order(locale)
    due = _parse(phrase, zone, now, None, order)
    if due is not None and due <= now and _same_day(due, now, zone) and _names_no_day(phrase, zone, now, due, order):
        # "9am" said at 15:00: tomorrow's. (Not dateparser's PREFER_DATES_FROM=future: on a month's last
        # day it moved such a time to the 1st of this month, or of the same month next year.)
        due = wall_clock(due.astimezone(zone).replace(tzinfo=None) + timedelta(days=1), zone)
    elif due is not None and due <= now:
        due = _parse(phrase, zone, now, "future", order)  # "friday 9:00" said on a Friday afternoon
    if due is None:
        raise WhenError(
            f"I could not read a time in {text!r}; try 'in 2 hours', 'tomorrow at 9:00' or '2025-06-01 18:30'"
        )
    if due <= now:
        raise WhenError(f"{text!r} has already passed ({due.astimezone(zone):%Y-%m-%d %H:%M} {zone.key})")
    if due - now > MAX_AHEAD:
        raise WhenError(f"{text!r} is more than a year away ({due.astimezone(zone):%Y-%m-%d}); I keep reminders a year")
    return due
