"""The member-profile graph: read_messages → analyze → save_profile.

Run in the background every N messages from a member (never on the reply path); exported to
LangGraph Studio beside the reply graph.
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from agent.nodes.profile import Analyze, ProfileState, ReadMessages, SaveProfile
from agent.services import Services
from agent.state import Context

ProfileGraph = CompiledStateGraph[ProfileState, Context, ProfileState, ProfileState]


def build(services: Services, checkpointer: Any = None, store: Any = None) -> ProfileGraph:
    s = services
    builder = StateGraph(ProfileState, context_schema=Context)
    builder.add_node("read_messages", ReadMessages(s.record))
    builder.add_node("analyze", Analyze(s.record, s.registry, s.router, s.prompts))
    builder.add_node("save_profile", SaveProfile(s.record))
    builder.add_edge(START, "read_messages")
    builder.add_edge("read_messages", "analyze")
    builder.add_edge("analyze", "save_profile")
    builder.add_edge("save_profile", END)
    return builder.compile(checkpointer=checkpointer, store=store, name="profile")
