"""What the graph streams to a door while it runs: a small set of typed events.

Nodes write them with `runtime.stream_writer(...)`. Doors read them with `run_events`: the typed events,
`Decided` once the run knows whether (and who) answers, and one `RunOutcome` last, built from the final
state by `outcome_of`, the only place a door's view of the run reads the state by key. `reply_events`
is the raw decoding beneath it (each full state, LangGraph's "values" mode), for tests and tools. A
LangGraph server sends the events as JSON with their `kind`, so remote clients read the same protocol.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pydantic import BaseModel

from agent.cast.speaker import Candidate
from agent.errors import RunError
from agent.events import Decision, Event, Snippet
from agent.member_texts import Capped
from agent.state import Usage
from agent.verdicts import ApprovalRequest


class Token(BaseModel):
    """A piece of the answer, in order."""

    kind: Literal["token"] = "token"
    text: str


class Notice(BaseModel):
    """A short status to show until the answer starts (replaced by it), e.g. a wait for a busy model."""

    kind: Literal["notice"] = "notice"
    text: str


class Thinking(BaseModel):
    """The model is reasoning: doors show that it is thinking, never what it thinks. `retract`: the last
    `retract` characters of this reply's streamed text were reasoning after all (a stream that began
    inside a think block the chat template opened): doors take them back."""

    kind: Literal["thinking"] = "thinking"
    retract: int = 0


class ReplyStart(BaseModel):
    """The answer is about to stream. `spoken`: it will also become a voice message (decided once)."""

    kind: Literal["reply_start"] = "reply_start"
    spoken: bool = False


class VoiceClip(BaseModel):
    """The answer as a voice message (Ogg/Opus), written to `path`."""

    kind: Literal["voice_clip"] = "voice_clip"
    path: str
    duration_s: float
    waveform: str  # base64 of at most 256 amplitude bytes, as Discord's voice messages want
    language: str


class ApprovalNeeded(BaseModel):
    """The run paused: a tool call that changes something waits for a member's verdict (which call, for
    whom, who may approve it, for how long). The door asks, checks who answers, and resumes the run."""

    kind: Literal["approval"] = "approval"
    request: ApprovalRequest


StreamEvent = Token | Notice | Thinking | ReplyStart | VoiceClip | ApprovalNeeded


@dataclass
class StateUpdate:
    """The run's whole state after a step."""

    state: dict[str, Any]


async def reply_events(stream: AsyncIterator[Any]) -> AsyncIterator[StreamEvent | StateUpdate]:
    """Decode `graph.astream(..., stream_mode=["custom", "values"])` for a door."""
    async for mode, chunk in stream:
        if mode == "values" and isinstance(chunk, dict):
            for pause in chunk.get("__interrupt__") or ():
                request = ApprovalRequest.of(getattr(pause, "value", None))
                if request is not None:
                    yield ApprovalNeeded(request=request)
            yield StateUpdate({k: v for k, v in chunk.items() if k != "__interrupt__"})
        elif mode == "custom" and isinstance(chunk, Token | Notice | Thinking | ReplyStart | VoiceClip):
            yield chunk


@dataclass(frozen=True)
class Decided:
    """The run decided whether to answer, and who speaks (in a channel with a cast): a door starts typing,
    picks the speaker's face, and speaks in the language the member spoke (`spoken_language`, from a
    voice message; None otherwise). Sent again only when either changes."""

    decision: Decision
    spoken_language: str | None = None


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended, typed: the last event of every run a door reads (`run_events`)."""

    event: Event | None = None  # the message answered (None for a run that never got one)
    decision: Decision | None = None
    reply: str = ""  # what was answered (a one-line apology when no model call could be made)
    member_note: str = ""  # a short note to the member instead of an answer (over a quota, flooding)
    error: RunError | None = None
    model: str | None = None
    model_reason: str = ""
    usage: Usage | None = None
    reply_message_id: int | None = None  # the stored reply's id, where the graph stored it
    capped: Capped | None = None  # the reply stopped at its model's length or time limit
    capped_seconds: float | None = None
    spoken_language: str | None = None
    persona: str | None = None
    retrieved: tuple[Snippet, ...] = ()
    cast: tuple[Candidate, ...] = ()
    tool_log: tuple[dict[str, Any], ...] = ()
    timings: Mapping[str, float] = field(default_factory=dict)
    paused: ApprovalRequest | None = None  # the run waits for a member's verdict on this tool call

    @property
    def speaker(self) -> str | None:
        """The character who answered, in a channel with a cast (None: the bot itself, or nobody)."""
        return self.decision.speaker if self.decision is not None else None

    @property
    def respond(self) -> bool:
        return self.decision is not None and self.decision.respond


def outcome_of(state: Mapping[str, Any], paused: ApprovalRequest | None = None) -> RunOutcome:
    """The run's outcome from its (final) state: the one place that reads the state's keys for a door."""
    event = state.get("event")
    capped = state.get("capped")
    return RunOutcome(
        event=event if isinstance(event, Event) or event is None else Event.model_validate(event),
        decision=state.get("decision"),
        reply=state.get("reply") or "",
        member_note=state.get("member_note") or "",
        error=RunError.of(state.get("error"), state.get("failure")),
        model=state.get("model"),
        model_reason=state.get("model_reason") or "",
        usage=state.get("usage"),
        reply_message_id=state.get("reply_message_id") or None,
        capped=capped if capped in ("length", "time") else None,
        capped_seconds=state.get("capped_seconds"),
        spoken_language=state.get("spoken_language"),
        persona=state.get("persona"),
        retrieved=tuple(state.get("retrieved") or ()),
        cast=tuple(state.get("cast") or ()),
        tool_log=tuple(state.get("tool_log") or ()),
        timings=dict(state.get("timings") or {}),
        paused=paused,
    )


DoorEvent = StreamEvent | Decided | RunOutcome


class NoteSink(Protocol):
    """Where a run's note goes (the record's `queue_note`, written behind in its group commit)."""

    def queue_note(self, message_id: int, kind: str, data: dict[str, Any]) -> None: ...


# A run note's retrieved snippets: how many, and how much of each one's text.
NOTED_SNIPPETS, NOTED_SNIPPET_CHARS = 8, 160
NOTED_KEYS = 12  # state keys named per step


class StepClock:
    """The run's steps as its stream shows them: each full state (one per LangGraph step) when it came,
    ms since the run started, the state keys it changed and what its nodes reported taking (`timings`)."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.steps: list[dict[str, Any]] = []
        self._last: dict[str, Any] | None = None

    def saw(self, state: dict[str, Any]) -> None:
        at = (time.perf_counter() - self.started) * 1000
        before = self._last
        self._last = state
        if before is None:  # the input, as the run began
            return
        changed = [k for k, v in state.items() if k != "timings" and (k not in before or before[k] != v)]
        was, now = before.get("timings") or {}, state.get("timings") or {}
        took = {k: round(v - was.get(k, 0.0), 1) for k, v in now.items() if v != was.get(k)}
        if changed or took:
            self.steps.append({"at_ms": round(at, 1), "changed": changed[:NOTED_KEYS], "took_ms": took})

    def note(self, outcome: RunOutcome) -> dict[str, Any]:
        """The "run" note: steps, total time, persona, what was retrieved (capped), tool calls made."""
        return {
            "total_ms": round((time.perf_counter() - self.started) * 1000, 1),
            "steps": self.steps,
            "timings": {k: round(v, 1) for k, v in outcome.timings.items()},
            "persona": outcome.persona,
            "retrieved": [
                {"kind": s.kind, "source": s.source, "score": round(s.score, 3), "text": s.text[:NOTED_SNIPPET_CHARS]}
                for s in outcome.retrieved[:NOTED_SNIPPETS]
            ],
            "retrieved_count": len(outcome.retrieved),
            "paused": outcome.paused is not None,
        }


async def run_events(stream: AsyncIterator[Any], notes: NoteSink | None = None) -> AsyncIterator[DoorEvent]:
    """Decode `graph.astream(..., stream_mode=["custom", "values"])` for a door: the typed stream events,
    `Decided` when the decision is made (or changes), and one `RunOutcome` at the end. With `notes`, the
    run's steps and their timings, as the stream showed them, are noted for its message ("run")."""
    last: dict[str, Any] = {}
    paused: ApprovalRequest | None = None
    decided: Decided | None = None
    clock = StepClock()
    async for item in reply_events(stream):
        if isinstance(item, StateUpdate):
            clock.saw(item.state)
            last = item.state
            decision = last.get("decision")
            now = Decided(decision, last.get("spoken_language")) if decision is not None else None
            if now is not None and now != decided:
                decided = now
                yield decided
        else:
            if isinstance(item, ApprovalNeeded):
                paused = item.request
            yield item
    outcome = outcome_of(last, paused)
    if notes is not None and outcome.event is not None and outcome.decision is not None:
        notes.queue_note(outcome.event.message_id, "run", clock.note(outcome))
    yield outcome
