"""The reply graph: ingest → [transcribe] → (judge ∥ retrieve) → select_model → generate → [speak].

`graph` is what langgraph.json exports and every door runs. Persistence (checkpointer, store)
is attached by whoever compiles it for the bot, so a LangGraph server can attach its own.
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from agent.nodes.generate import generate
from agent.nodes.ingest import ingest
from agent.nodes.judge import judge
from agent.nodes.retrieve import retrieve
from agent.nodes.select_model import select_model
from agent.nodes.speak import speak, wants_voice
from agent.nodes.transcribe import audio_attachment, transcribe
from agent.state import Context, InputState, State


def after_ingest(state: State) -> list[str] | str:
    """Settled by a cheap rule: stop. Audio: transcribe first. Otherwise judge and retrieve start together."""
    decision = state.get("decision")
    if decision is not None and not decision.respond:
        return END
    if audio_attachment(state["event"]) is not None:
        return "transcribe"
    return ["judge", "retrieve"]


def after_transcribe(state: State) -> list[str] | str:
    """A refused or undecodable recording was already answered in one line."""
    return END if state.get("error") else ["judge", "retrieve"]


def after_generate(state: State) -> str:
    return "speak" if state.get("reply") and not state.get("error") and wants_voice(state) else END


def after_select(state: State) -> str:
    decision = state.get("decision")
    return "generate" if decision is not None and decision.respond else END


def build(checkpointer: Any = None, store: Any = None) -> CompiledStateGraph[State, Context, InputState, State]:
    builder = StateGraph(State, context_schema=Context, input_schema=InputState)
    builder.add_node("ingest", ingest)
    builder.add_node("judge", judge)
    builder.add_node("retrieve", retrieve)
    builder.add_node("select_model", select_model)
    builder.add_node("generate", generate)
    builder.add_node("transcribe", transcribe)
    builder.add_node("speak", speak)
    builder.add_edge(START, "ingest")
    builder.add_conditional_edges("ingest", after_ingest, ["transcribe", "judge", "retrieve", END])
    builder.add_conditional_edges("transcribe", after_transcribe, ["judge", "retrieve", END])
    # Waits for both: the judge's decision and the retrieved persona (discarded if it says no).
    builder.add_edge(["judge", "retrieve"], "select_model")
    builder.add_conditional_edges("select_model", after_select, ["generate", END])
    builder.add_conditional_edges("generate", after_generate, ["speak", END])
    builder.add_edge("speak", END)
    return builder.compile(checkpointer=checkpointer, store=store, name="reply")


graph = build()
