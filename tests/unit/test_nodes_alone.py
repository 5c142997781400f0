"""A node is tested on its own: built with two small fakes, run with a hand-built LangGraph Runtime."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from langgraph.runtime import Runtime

from agent.events import Decision
from agent.models.registry import ModelRegistry
from agent.models.router import OverBudget, Pick, Route, Router
from agent.nodes.select_model import SelectModel
from agent.state import Context, State
from agent.stream import Notice, ReplyStart, Token, reply_events
from tests.conftest import make_event


@dataclass
class FakeRegistry:
    names: list[str] = field(default_factory=lambda: ["small", "large"])
    default_model: str = "small"

    def names_for(self, guild_id: int | None) -> list[str]:
        return self.names


@dataclass
class FakeRouter:
    route: Route | None = None
    asked: list[str | None] = field(default_factory=list)

    async def pick(self, preferred: str | None, **_: Any) -> Route:
        self.asked.append(preferred)
        return self.route or Pick(preferred or "small", "fine")


def node(router: FakeRouter) -> SelectModel:
    return SelectModel(cast(ModelRegistry, FakeRegistry()), cast(Router, router))


def state(model: str | None, **extra: Any) -> State:
    return cast(State, {"event": make_event("hi"), "decision": Decision(respond=True, model=model), **extra})


async def test_a_channel_pin_beats_the_judges_choice():
    router = FakeRouter()
    update = await node(router)(state("large", channel_settings={"model": "small"}), Runtime(context=Context()))
    assert router.asked == ["small"] and update["model"] == "small"
    assert update["model_reason"] == "pinned for this channel"


async def test_the_runs_context_beats_everything_and_unknown_names_are_reported():
    router = FakeRouter()
    runtime = Runtime(context=Context(model="large"))
    update = await node(router)(state("gpt-9", channel_settings={"model": "small"}), runtime)
    assert update["model"] == "large"
    assert "'gpt-9' is not configured" in update["model_reason"]


async def test_over_budget_blocks_the_reply_without_a_model():
    router = FakeRouter(route=OverBudget("over today's budget"))
    update = await node(router)(state("small"), Runtime(context=Context()))
    assert update == {"model": None, "model_reason": "over today's budget", "route_blocked": "over today's budget"}


async def test_a_door_reads_typed_events_and_skips_foreign_chunks():
    async def stream() -> Any:
        yield ("custom", ReplyStart(spoken=True))
        yield ("custom", {"token": "an old-style dict is not part of the protocol"})
        yield ("custom", Notice(text="busy"))
        yield ("custom", Token(text="hi"))
        yield ("values", {"reply": "hi"})

    seen = [item async for item in reply_events(stream())]
    assert [type(i).__name__ for i in seen] == ["ReplyStart", "Notice", "Token", "StateUpdate"]
    assert Token(text="x").model_dump() == {"kind": "token", "text": "x"}, "what a LangGraph server sends"
