"""A message the record could not write yet: kept in memory, its caller told after `patience` seconds."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from agent.events import Event


class RecordDelayed(Exception):
    """The message could not be written for `patience` seconds; it stays in memory and is written when
    the database takes writes again. `written` resolves with the channel's mode at that moment."""

    def __init__(self, written: asyncio.Future[str], cause: str) -> None:
        super().__init__(f"the record is not taking writes ({cause}); the message is kept and written later")
        self.written = written
        self.cause = cause


@dataclass
class Arrival:
    """A message handed to the record, until its row is in."""

    event: Event
    state: str | None
    future: asyncio.Future[str]
    since: float  # loop time of the first attempt
    written: asyncio.Future[str] | None = None  # handed out with RecordDelayed


__all__ = ["Arrival", "RecordDelayed"]
