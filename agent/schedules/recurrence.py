"""Recurrences an admin writes for `/schedule add`: a crontab line ("0 10 * * mon") or plain English
("every Monday 10:00", "every day at 9:30", "weekdays 18:00", "every hour"), as a five-field cron line
read in the schedule's time zone."""

from __future__ import annotations

import re

from agent.schedules.when import WhenError

_DAYS = {
    "monday": "mon",
    "tuesday": "tue",
    "wednesday": "wed",
    "thursday": "thu",
    "friday": "fri",
    "saturday": "sat",
    "sunday": "sun",
}
_TIME = r"(?:at\s+)?(\d{1,2})(?::(\d{2}))?\s*(am|pm)?"
_EXAMPLES = "'every Monday 10:00', 'every day at 9:30', 'weekdays 18:00', 'every hour' or a crontab line '0 10 * * mon'"


def _hour_minute(hour: str, minute: str | None, half: str | None) -> tuple[int, int]:
    h, m = int(hour), int(minute or 0)
    if half:
        if not 1 <= h <= 12:
            raise WhenError(f"{hour}{half} is not a time")
        h = h % 12 + (12 if half.lower() == "pm" else 0)
    if not (0 <= h <= 23 and 0 <= m <= 59):
        raise WhenError(f"{hour}:{minute or '00'} is not a time of day")
    return h, m


def _day(word: str) -> str | None:
    word = word.lower().rstrip("s")
    return next((short for name, short in _DAYS.items() if name.startswith(word) and len(word) >= 3), None)


def parse_every(text: str) -> str:
    """A five-field cron line ("minute hour day month weekday") for `text`; WhenError with examples."""
    from apscheduler.triggers.cron import CronTrigger

    phrase = " ".join(text.strip().lower().replace(",", " , ").split())
    fields = phrase.split()
    if len(fields) == 5 and all(re.fullmatch(r"[\d*/,\-a-z]+", f) for f in fields):
        try:
            CronTrigger.from_crontab(phrase)
        except ValueError as exc:
            raise WhenError(f"{text!r} is not a crontab line I can use ({exc})") from None
        return phrase
    if m := re.fullmatch(r"every hour(?: at :?(\d{1,2}))?|hourly", phrase):
        minute = int(m.group(1) or 0) if m.groups() and m.group(1) else 0
        if minute > 59:
            raise WhenError(f"minute {minute} is not a minute")
        return f"{minute} * * * *"
    if m := re.fullmatch(rf"(?:every day|daily|every morning|each day)\s+{_TIME}", phrase):
        h, mi = _hour_minute(*m.groups())
        return f"{mi} {h} * * *"
    if m := re.fullmatch(rf"(?:on\s+)?(?:every\s+)?weekdays?\s+{_TIME}", phrase):
        h, mi = _hour_minute(*m.groups())
        return f"{mi} {h} * * mon-fri"
    if m := re.fullmatch(rf"(?:every|on|each)\s+([a-z ,]+?)\s+{_TIME}", phrase):
        days = [_day(w) for w in m.group(1).replace(" and ", " ").replace(",", " ").split()]
        if days and all(days):
            h, mi = _hour_minute(*m.groups()[1:])
            return f"{mi} {h} * * {','.join(d for d in days if d)}"
    raise WhenError(f"I could not read a recurrence in {text!r}; write e.g. {_EXAMPLES}")
