"""The reply graph: ingest → (judge ∥ retrieve) → select_model → generate.

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
from agent.state import Context, InputState, State


def after_ingest(state: State) -> list[str] | str:
    """Settled by a cheap rule: stop. Otherwise judge and retrieve start together."""
    decision = state.get("decision")
    if decision is not None and not decision.respond:
        return END
    return ["judge", "retrieve"]


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
    builder.add_edge(START, "ingest")
    builder.add_conditional_edges("ingest", after_ingest, ["judge", "retrieve", END])
    # Waits for both: the judge's decision and the retrieved persona (discarded if it says no).
    builder.add_edge(["judge", "retrieve"], "select_model")
    builder.add_conditional_edges("select_model", after_select, ["generate", END])
    builder.add_edge("generate", END)
    return builder.compile(checkpointer=checkpointer, store=store, name="reply")


graph = build()
