"""The reply graph's state and the per-run context (LangGraph `context_schema`)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from langchain_core.messages import BaseMessage, RemoveMessage
from langgraph.graph.message import REMOVE_ALL_MESSAGES, add_messages
from typing_extensions import TypedDict  # pydantic (Studio's schema) needs it on Python < 3.12

from agent.cast.speaker import Candidate
from agent.events import ChatLine, Decision, Event, Snippet
from agent.member_texts import Capped
from agent.models.failures import FailureKind
from agent.verdicts import Verdict


def add_timings(left: dict[str, float] | None, right: dict[str, float] | None) -> dict[str, float]:
    """Reducer: each node reports only what it took (ms, by name) and the values add up, so judge and
    retrieve in one step both count, and a node that runs once per tool round counts every round.
    Ingest's entry starts a new run: on a thread (LangGraph server, Studio) the last run's are dropped."""
    if right and "ingest_ms" in right:
        return dict(right)
    total = dict(left or {})
    for name, ms in (right or {}).items():
        total[name] = total.get(name, 0.0) + ms
    return total


class InputState(TypedDict, total=False):
    """What a door hands the graph: a full `event`, or (in Studio) just text, author and channel.
    `arrived`: the door already ran the arrival step for `event` (agent.arrival); ingest does not repeat it."""

    event: Event
    arrived: bool
    text: str
    author: str
    channel: str


class Usage(TypedDict):
    model: str
    tokens_in: int
    tokens_out: int
    cost_usd: float
    latency_ms: float


class State(InputState, total=False):
    rule: str
    channel_settings: dict[str, Any]
    decision: Decision
    history: list[ChatLine]
    reply_chain: list[ChatLine]
    transcript: str
    spoken_language: str
    heard_voice: bool
    voice_reply: dict[str, Any]
    voice_error: str
    persona: str
    persona_text: str
    persona_examples: list[tuple[str, str]]  # ("user" | "char", text): the persona's example messages
    retrieved: list[Snippet]
    member_profile: str
    profile_temperature: float | None
    model: str | None
    # Every model that may answer, in the order routing put them (select_model, once); the chosen first.
    # A model that fails hands over to the next here (models.fallback): the router is not asked again.
    model_order: list[str]
    model_reason: str
    route_blocked: str
    reply: str
    spoken: bool  # the reply also becomes a voice message (decided once, in generate)
    reply_message_id: int
    capped: Capped  # the reply stopped at its model's limit: "length" or "time"
    capped_seconds: float | None  # the time limit it stopped at
    usage: Usage
    # The agent loop: the model's tool-call turns and the tools' answers, this run only. Each node
    # returns only its new turns (LangGraph's add_messages appends them); ingest clears them.
    tool_turns: Annotated[list[BaseMessage], add_messages]
    acting: bool  # the last generate asked for tools: the act node runs them next
    # What each tool call did, for people (console --verbose, Studio): tool, source, arguments, outcome,
    # result, ms.
    tool_log: list[dict[str, Any]]
    # Approval verdicts for this run's tool calls that change something, by call id.
    approvals: dict[str, Verdict]
    error: str  # for operators (log, /observer status), redacted
    failure: FailureKind  # for members: what kind of failure it was
    # A short note to the member instead of an answer (over a quota, flooding, blocked with a note).
    member_note: str
    # A channel with a cast (issue I): the candidates (Studio shows them) and the speaker's own model.
    cast: list[Candidate]
    speaker_model: str
    timings: Annotated[dict[str, float], add_timings]


# What one run decides and produces. On a thread the state outlives a run, so ingest clears these:
# the next message is judged, retrieved for and answered afresh, never with the last one's leftovers.
INPUT_KEYS = frozenset(InputState.__annotations__)
RUN_KEYS = frozenset(State.__annotations__) - INPUT_KEYS - {"timings", "tool_turns"}


def fresh_run(state: State) -> dict[str, Any]:
    """What ingest writes so a run starts clean: every per-run key left from the last run on this
    thread unset (tool turns through their reducer: a plain None would be appended, not a reset)."""
    update: dict[str, Any] = {key: None for key in RUN_KEYS | (INPUT_KEYS - {"event"}) if state.get(key) is not None}
    if state.get("tool_turns"):
        update["tool_turns"] = [RemoveMessage(id=REMOVE_ALL_MESSAGES)]
    return update


ChannelMode = Literal["off", "mentions", "auto", "observe"]


@dataclass(kw_only=True)
class Context:
    """Per-run knobs; Studio shows and edits these. Unset fields fall back to the environment."""

    bot_name: str = field(default_factory=lambda: os.environ.get("OBSERVER_BOT_NAME", "Observer"))
    persona: str | None = None  # unset: the channel's or guild's choice, else the default
    channel_mode: ChannelMode | None = None
    model: str | None = None
    history_limit: int = field(default_factory=lambda: int(os.environ.get("OBSERVER_HISTORY_LIMIT", "20")))
    # False where the door records the delivered reply itself (Discord echoes it through the gateway).
    store_reply: bool = True
    # The door can ask a member to approve a tool call that changes something; otherwise such calls are refused.
    can_approve: bool = False


def context_of(runtime: Any) -> Context:
    """The run's context, or the defaults when the caller passed none (LangGraph SDK, Studio)."""
    ctx = getattr(runtime, "context", None)
    if isinstance(ctx, Context):
        return ctx
    if isinstance(ctx, dict):
        return Context(**{k: v for k, v in ctx.items() if k in Context.__dataclass_fields__})
    return Context()
