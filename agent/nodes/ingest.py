"""ingest: the message's arrival (unless a door already did it), then the cheap rules."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from langgraph.runtime import Runtime

from agent.access.gate import Gate
from agent.arrival import Arrival
from agent.cadence import Cadence
from agent.cast.scene import cheap_speaker, load_cast
from agent.cast.speaker import Candidate
from agent.cast.store import CastStore
from agent.events import Decision, Event, event_from_names
from agent.memory.personas import PersonaCatalog
from agent.memory.record import Record
from agent.profiles import ProfileRefresher, Refresh
from agent.rules import RuleOutcome, apply_rules
from agent.state import Context, State, context_of, fresh_run


def event_from_fields(state: State, bot_name: str) -> Event:
    """Studio-friendly input: type a message as a member without building an Event by hand."""
    author = (state.get("author") or "studio").strip() or "studio"
    channel = (state.get("channel") or "general").lstrip("#").strip() or "general"
    return event_from_names("studio", text=state.get("text") or "", author=author, channel=channel, bot_name=bot_name)


def typed(state: State) -> bool:
    """Studio's typed fields are present: they are this run's message (ingest clears them after use)."""
    return any(state.get(key) is not None for key in ("text", "author", "channel"))


def door_arrived(state: State) -> bool:
    """The door ran the arrival step (agent.arrival) for the `event` it handed in."""
    return bool(state.get("arrived")) and not typed(state) and state.get("event") is not None


def this_runs_event(state: State, bot_name: str) -> Event:
    """The message this run was given. Typed fields win: on a thread the previous run's `event` is
    still in the state, and ingest clears the fields after use, so present fields are always new."""
    if typed(state):
        return event_from_fields(state, bot_name)
    event = state.get("event")
    if event is None:
        return event_from_fields(state, bot_name)
    return event if isinstance(event, Event) else Event.model_validate(event)  # JSON from a LangGraph server


@dataclass
class Ingest:
    """Arrives the message (unless its door did), then applies the cheap rules."""

    record: Record
    arrival: Arrival
    cadence: Cadence
    profiles: ProfileRefresher
    bot_user_id: int
    refresh_profile: Refresh
    gate: Gate
    casts: CastStore
    personas: PersonaCatalog
    chain_turns: int = 2

    async def __call__(self, state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        started = time.perf_counter()
        event = this_runs_event(state, context_of(runtime).bot_name)
        if door_arrived(state):
            # The door arrived it (stored, or kept out, and its retrieval started): not done twice.
            stored_mode = await self.arrival.mode_now(event.channel_id)
        else:
            # A record that is away keeps it in memory and writes it once back; the run goes on.
            arrived = await self.arrival.arrive(event)
            event, stored_mode = arrived.event, await self.arrival.mode(arrived)
        mode = context_of(runtime).channel_mode or stored_mode
        outcome = apply_rules(event, mode, event.bot_user_id or self.bot_user_id)
        cast = await load_cast(self.casts, self.personas, event) if mode not in ("off", "observe") else []
        speaker: tuple[str, str] | None = None
        if cast:
            outcome, speaker = await self._cast_rules(event, outcome, cast)
        # Access lists, flood control and quotas: before the judge, so a refused message costs no model call.
        admission = await self.gate.admit(event, outcome.verdict)
        if admission.skip:
            outcome = RuleOutcome("skip", admission.reason)
        elif outcome.verdict == "judge" and not cast:
            # Auto mode's judge runs at most so often; a cast's scene asks it about every message.
            considered, why = self.cadence.consider(event.channel_id)
            outcome = RuleOutcome("judge" if considered else "skip", why)
        update: dict[str, Any] = {
            **fresh_run(state),
            "event": event,
            "rule": outcome.verdict,
            "channel_settings": await self.record.cached_channel_settings(event.channel_id)
            if outcome.verdict != "skip"
            else {},
            "timings": {"ingest_ms": (time.perf_counter() - started) * 1000},
        }
        if admission.note:
            update["member_note"] = admission.note
        self.profiles.note(event, self.refresh_profile)
        if cast:
            update["cast"] = cast
        if outcome.verdict != "judge":
            update["decision"] = Decision(
                respond=outcome.verdict == "respond",
                reason=outcome.reason,
                source="rule",
                speaker=speaker[0] if speaker and outcome.verdict == "respond" else None,
            )
        return update

    async def _bots_in_a_row(self, event: Event) -> int:
        """How many of the latest messages before this one came from bots or characters."""
        recent = await self.record.window(event.channel_id, self.chain_turns + 1, before_id=event.message_id)
        run = 0
        for line in reversed(recent):
            if not line.is_bot:
                break
            run += 1
        return run

    async def _cast_rules(
        self, event: Event, outcome: RuleOutcome, cast: list[Candidate]
    ) -> tuple[RuleOutcome, tuple[str, str] | None]:
        """In a channel with a cast: a character named or replied to speaks (no judge call); any other
        member message, and a character's line while chain turns remain, goes to the judge, which
        picks who speaks, if anyone."""
        if event.chain_depth:
            if event.chain_depth > self.chain_turns:
                return RuleOutcome("skip", f"{self.chain_turns} character turns in a row: the members' turn"), None
            return RuleOutcome("judge", "a character spoke: may another chime in?"), None
        if not event.text.strip() or event.author_id == (event.bot_user_id or self.bot_user_id):
            return outcome, None
        if event.author_is_bot:
            # Our characters' own lines come back as chain turns; other bots only where allowed.
            names = {c.name for c in cast}
            allowed = (await self.record.cached_channel_settings(event.channel_id)).get("allow_bots")
            if event.author_name in names or not allowed:
                return outcome, None
            if await self._bots_in_a_row(event) >= self.chain_turns:
                return RuleOutcome("skip", f"bots and characters spoke {self.chain_turns} times in a row"), None
        speaker = await cheap_speaker(self.record, event, cast)
        if speaker is not None:
            return RuleOutcome("respond", speaker[1]), speaker
        return RuleOutcome("judge", "a cast is here: the judge picks who speaks"), None
