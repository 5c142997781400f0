"""Recurrences an admin writes for `/schedule add`: a crontab line ("0 10 * * mon") or plain English
("every Monday 10:00", "every day at 9:30", "weekdays 18:00", "every hour"), as a five-field cron line
read in the schedule's time zone."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta

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


# A recurring post runs the reply graph (a model call) each time: not more often than this.
MIN_INTERVAL = timedelta(hours=1)


def parse_every(text: str) -> str:
    """A five-field cron line ("minute hour day month weekday") for `text`, firing at most once an hour
    and at least once; WhenError with examples."""
    line = _cron_line(text)
    _check_cadence(text, line)
    return line


def _check_cadence(text: str, line: str) -> None:
    from apscheduler.triggers.cron import CronTrigger

    try:
        trigger = CronTrigger.from_crontab(line, timezone="UTC")
    except Exception:  # the library raises ValueError, IndexError (a weekday 8), KeyError
        raise WhenError(
            f"{text!r} is not a crontab line I can use: minute 0-59, hour 0-23, day 1-31, month 1-12, "
            "weekday 0-6 or mon-sun"
        ) from None
    fires = [trigger.next() for _ in range(6)]
    if fires[0] is None:
        raise WhenError(f"{text!r} never comes (such as 31 February); write e.g. {_EXAMPLES}")
    times = [f for f in fires if f is not None]
    if any(later - earlier < MIN_INTERVAL for earlier, later in itertools.pairwise(times)):
        raise WhenError(f"{text!r} is more often than once an hour; a scheduled post runs the model each time")


def _cron_line(text: str) -> str:
    phrase = " ".join(text.strip().lower().replace(",", " , ").split())
    fields = phrase.split()
    # A crontab line: five fields, the minute and the hour never with letters ("every day at 9 am" has
    # five words too, and is English).
    cron_like = len(fields) == 5 and all(re.fullmatch(r"[\d*/,\-a-z]+", f) for f in fields)
    if cron_like and all(re.fullmatch(r"[\d*/,\-]+", f) for f in fields[:2]):
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
