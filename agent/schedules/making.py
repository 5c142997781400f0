"""Making a reminder for the member who asks, from any door (the reply model's tool, `/schedule remind`):
their time zone, the time they wrote, stored for them alone in the place they asked."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from agent.events import Event
from agent.memory.record import Record
from agent.schedules.store import NewReminder, ReminderRow, Reminders
from agent.schedules.when import WhenError, parse_when, zone_named

# The section of a server's settings holding its default time zone (`/schedule timezone server:`).
SCHEDULE = "schedule"
MAX_TEXT = 1000


class CannotPostHere(ValueError):
    """The member may not send messages where they asked: a reminder there would speak for them."""


async def server_zone(record: Record, guild_id: int | None) -> str | None:
    if guild_id is None:
        return None
    return (await record.guild_settings(guild_id)).get(SCHEDULE, {}).get("timezone")


async def zone_for(reminders: Reminders, record: Record, user_id: int, guild_id: int | None) -> ZoneInfo:
    """The member's own time zone, else the server's, else UTC (a stored name no longer known: UTC)."""
    for name in (await reminders.member_zone(user_id), await server_zone(record, guild_id)):
        if name:
            try:
                return zone_named(name)
            except WhenError:
                continue
    return ZoneInfo("UTC")


async def remind(
    reminders: Reminders,
    record: Record,
    event: Event,
    when: str,
    what: str,
    *,
    now: datetime | None = None,
    unable: Literal["refuse", "dm"] = "refuse",
    locale: str | None = None,
) -> tuple[ReminderRow, ZoneInfo]:
    """A one-off reminder for `event`'s author, in `event`'s channel. WhenError (a time that cannot be
        used), store.TooMany (too many open), CannotPostHere: one line for the member.

        It is posted in the channel only where the member may send messages (the rights the event carries):
        where they may not, `unable` "refuse" raises CannotPostHere and "dm" sends it to them by direct
        message; where it is not known, by direct message. `locale`: the member's (their Discord client's),
    for reading a short numeric date ("03/04")."""
    what = " ".join(what.split())[:MAX_TEXT]
    if not what:
        raise WhenError("say what to remind you of")
    private = event.private
    if not private and not event.is_dm and event.rights.can_post is not True:
        if event.rights.can_post is False and unable == "refuse":
            raise CannotPostHere(
                "you can't send messages here, so I won't post a reminder here for you; "
                "ask where you can write, or in a direct message with me"
            )
        private = True
    zone = await zone_for(reminders, record, event.author_id, event.guild_id)
    # dateparser loads its language data on first use (~0.3 s) and then spends milliseconds: off the loop.
    due = await asyncio.to_thread(lambda: parse_when(when, zone, now, locale=locale))
    row = await reminders.add(
        NewReminder(
            kind="remind",
            guild_id=event.guild_id,
            channel_id=event.channel_id,
            channel_name=event.channel_name,
            is_dm=event.is_dm,
            owner_id=event.author_id,
            owner_name=event.author_name,
            text=what,
            zone=zone.key,
            due_at=due,
            private=private,
        )
    )
    return row, zone
