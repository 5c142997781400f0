"""The one owner of a message's lifecycle in this process: which messages it has in hand, and every move
of a message's state in the record, checked against the lifecycle's table (`MOVES`).

    waiting → answering → answered | skipped | failed
       │        ↕ paused (a member's approval; → failed too)   ↕ retrying (a dependency was down)
       └→ skipped | failed (queue full, asked again)        any unfinished → expired (too old after a restart)

A message's first state (`FIRST`: waiting, or skipped for one never answered) is written with the message
itself by the arrival step (`arrive_as`, through `agent.arrival`: kept out of the record when the access
rules say so); every move after that goes through here, and is written only if the record really holds
it in a state the table moves from (one conditional UPDATE).

Exactly once across processes: a queued message is taken in the record before anything is done with it,
by one conditional UPDATE (waiting → answering, or → skipped / failed when it is dropped). Two processes
that both receive it (started twice with one layout, a gateway replay) both queue it; the one whose claim
loses drops its copy without a word: no run, no note, no turn of the channel's budget. In hand: taken in
by this process and not finished; a recovery pass, an approval press or a retry in this process never
starts it a second time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime

from agent.arrival import Arrival, Arrived
from agent.events import Event
from agent.memory.progress import ANY_TIME, MessageState, Progress
from agent.memory.retrying import retrying

log = logging.getLogger(__name__)

# None: a message the record does not track (kept out of it, a bot's line, a character's line): it has
# no state to claim; writing one to it changes nothing or starts one, as before.
Stage = MessageState | None

# The states a message may arrive in: waiting (to be answered), skipped (recorded, never answered).
FIRST: frozenset[MessageState] = frozenset({"waiting", "skipped"})
FINISHED: frozenset[MessageState] = frozenset()
MOVES: Mapping[Stage, frozenset[MessageState]] = {
    None: frozenset({"paused", "answered", "skipped", "failed"}),
    "waiting": frozenset({"answering", "retrying", "skipped", "failed", "expired"}),
    # answering → answering: a run interrupted by a crash (or a retry whose mark was lost) taken again.
    "answering": frozenset({"answering", "paused", "retrying", "answered", "skipped", "failed", "expired"}),
    # paused → failed: posting the approval's buttons itself failed, and the member hears it.
    "paused": frozenset({"answering", "failed", "expired"}),
    "retrying": frozenset({"answering", "retrying", "expired"}),
    "answered": FINISHED,
    "skipped": FINISHED,
    "failed": FINISHED,
    "expired": FINISHED,
}


class IllegalMove(ValueError):
    """A move the lifecycle does not have: a bug in the caller, never a state of the world."""

    def __init__(self, message_id: int, source: Stage, to: MessageState, *, arriving: bool = False) -> None:
        if arriving:
            first = ", ".join(sorted(FIRST))
            super().__init__(f"message {message_id}: cannot arrive {to} (a message arrives {first})")
            return
        allowed = ", ".join(sorted(MOVES[source])) or "nothing (finished)"
        super().__init__(f"message {message_id}: no move from {source or 'untracked'} to {to} (from there: {allowed})")


def check(message_id: int, sources: Iterable[Stage], to: MessageState) -> None:
    """Every state the caller says the message may be in must be allowed to move to `to`."""
    for source in sources:
        if to not in MOVES[source]:
            raise IllegalMove(message_id, source, to)


def stage(value: str) -> MessageState:
    """A state as the record holds it (a string), as one of the lifecycle's."""
    for known in MOVES:
        if known == value:
            return known
    raise ValueError(f"{value!r} is not a message state")


class Inbox:
    def __init__(self, progress: Progress, arrival: Arrival | None = None) -> None:
        self.progress = progress
        self.arrival = arrival  # the arrival step; None for an inbox that only moves states (tests)
        self._in_hand: set[int] = set()

    # ----- arrival -----
    async def arrive_as(self, event: Event, first: MessageState, *, keep_if_unsure: bool = False) -> Arrived:
        """The arrival step for a message this door tracks: addressed, its retrieval started (unless it
        arrives skipped), then kept out of the record by the access rules or stored in state `first`.
        Every door's first-state write (live, catch-up, a proxy's repost) comes through here."""
        if first not in FIRST:
            raise IllegalMove(event.message_id, None, first, arriving=True)
        if self.arrival is None:
            raise RuntimeError("this inbox was built without the arrival step")
        return await self.arrival.arrive(event, state=first, keep_if_unsure=keep_if_unsure)

    # ----- in hand -----
    @property
    def in_hand(self) -> frozenset[int]:
        return frozenset(self._in_hand)

    def holds(self, message_id: int) -> bool:
        return message_id in self._in_hand

    def hold(self, message_id: int) -> None:
        """Taken in by this process (arrived, or queued again): a recovery pass never queues it twice."""
        self._in_hand.add(message_id)

    def release(self, message_id: int) -> None:
        self._in_hand.discard(message_id)

    def release_all(self, message_ids: Iterable[int]) -> None:
        self._in_hand.difference_update(message_ids)

    # ----- moves -----
    async def mark(self, message_id: int, to: MessageState, *, sources: tuple[Stage, ...]) -> bool:
        """Move it to `to` from one of `sources` (the states the caller knows it can be in, checked
        against the table first). Written only if the record holds it in one of them, for no other
        process; False when it does not (moved meanwhile, held elsewhere, or not in the record)."""
        check(message_id, sources, to)
        if await self.progress.mark(message_id, to, sources=sources):
            return True
        log.debug("message %s not moved to %s: the record does not hold it in %s", message_id, to, sources)
        return False

    async def claim(
        self,
        message_id: int,
        sources: tuple[MessageState, ...],
        to: MessageState = "answering",
        *,
        seen_at: datetime | None = ANY_TIME,
        set_before: datetime | None = None,
        live: frozenset[str] | None = None,
    ) -> bool:
        """Move it from one of `sources` to `to` in the record, for this process, if it is still there
        (one conditional UPDATE: of any number of takers exactly one wins; see `Progress.claim`)."""
        check(message_id, sources, to)
        return await self.progress.claim(message_id, sources, seen_at=seen_at, set_before=set_before, live=live, to=to)

    async def take(
        self,
        message_id: int,
        sources: tuple[MessageState, ...],
        to: MessageState = "answering",
        *,
        seen_at: datetime | None = ANY_TIME,
        set_before: datetime | None = None,
        live: frozenset[str] | None = None,
    ) -> bool:
        """First one wins: in hand before any await (so a press, a recovery pass or the live path in this
        process sees it taken), then `claim` in the record; let go again when the claim loses."""
        if message_id in self._in_hand:
            return False
        self._in_hand.add(message_id)
        if await self.claim(message_id, sources, to, seen_at=seen_at, set_before=set_before, live=live):
            return True
        self._in_hand.discard(message_id)
        return False

    async def claim_queued(self, message_id: int, *, resumed: bool, to: MessageState = "answering") -> bool:
        """Move a queued message from `waiting` to `to` for this process; False: another process has it.

        A resumed job (recovery, a retry, an approval) was claimed by whoever queued it: only its state
        is written. A message the record does not track has no state to claim and is handled as before.
        Raises the database's error after the record's patience."""
        progress = self.progress
        if resumed:
            if to != "answering":
                await self.mark(message_id, to, sources=("answering",))
            return True
        check(message_id, ("waiting",), to)
        if await retrying(
            lambda: progress.claim(message_id, ("waiting",), to=to), progress.patience, "claiming a message"
        ):
            return True
        state = await progress.state(message_id)
        if state is None:  # untracked: nobody can claim it, nothing to compete for
            if to != "answering":
                await self.mark(message_id, to, sources=(None,))
            return True
        log.debug("message %s is %s elsewhere: another process took it", message_id, state)
        return False
