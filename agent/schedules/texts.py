"""Every line the bot itself writes about reminders and scheduled posts (the door adds the mention)."""

from __future__ import annotations

import re
from datetime import timedelta

_BRACKET = re.compile(r"([\[\]])")


def plain_links(text: str) -> str:
    """A member's text as it goes out under the bot's name: a masked link `[text](url)` shown as written,
    not as a link (its brackets escaped)."""
    return _BRACKET.sub(r"\\\1", text)


def _span(late: timedelta) -> str:
    minutes = int(late.total_seconds() // 60)
    if minutes < 1:
        return "under a minute"
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    return f"{hours} h" if hours < 48 else f"{hours // 24} days"


def reminder_line(text: str, late: timedelta, *, late_after: timedelta = timedelta(minutes=1)) -> str:
    """A reminder delivered on time, or late with a note (`late` past its time, the bot was offline)."""
    line = f"⏰ Reminder: {plain_links(text)}"
    if late >= late_after:
        line += f"\n-# (late by {_span(late)}: I was offline when it was due)"
    return line


def missed_line(text: str, due_unix: int) -> str:
    """A reminder later than the grace window: said once, as missed, with when it was due."""
    return f"⏰ I missed a reminder while I was offline (due <t:{due_unix}:f>): {plain_links(text)}"


def post_prompt(text: str, every: str | None) -> str:
    """What a recurring post's run reads as the message it answers."""
    when = f" ({every})" if every else ""
    return f"[Scheduled post{when}, set by an admin for this channel] {text}"
