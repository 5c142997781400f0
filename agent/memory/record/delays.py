"""A message the record could not write yet: kept in memory, its caller told after `patience` seconds."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass

from agent.events import Event
from agent.memory.progress import MessageState


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
    state: MessageState | None
    future: asyncio.Future[str]
    since: float  # loop time of the first attempt
    written: asyncio.Future[str] | None = None  # handed out with RecordDelayed


def tell_the_patient(waiting: Iterable[Arrival], patience: float, cause: str) -> None:
    """Callers waiting longer than `patience` seconds for their arrival write hear RecordDelayed now."""
    now = asyncio.get_running_loop().time()
    for arrival in waiting:
        if arrival.future.done() or now - arrival.since < patience:
            continue
        arrival.written = asyncio.get_running_loop().create_future()
        arrival.future.set_exception(RecordDelayed(arrival.written, cause))


__all__ = ["Arrival", "RecordDelayed", "tell_the_patient"]
