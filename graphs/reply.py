"""The reply graph: ingest → [transcribe] → (judge ∥ retrieve) → select_model → generate ⇄ (approve →) act → [speak].

`build(services)` wires each node to the collaborators it uses; every door builds the graph this
way (Studio through `graphs.studio`). Persistence (checkpointer, store) is attached by whoever
compiles it for the bot, so a LangGraph server can attach its own.
"""

from __future__ import annotations

from typing import Any, Literal

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from agent.arrival import Arrival
from agent.attachments.read import Limits
from agent.events import Event
from agent.nodes.act import Act
from agent.nodes.approve import Approve, pending_approval
from agent.nodes.generate import Generate
from agent.nodes.ingest import Ingest
from agent.nodes.judge import Judge
from agent.nodes.read_files import ReadFiles, has_unread_files
from agent.nodes.retrieve import Retrieve, lore_scan
from agent.nodes.select_model import SelectModel
from agent.nodes.speak import Speak
from agent.nodes.transcribe import Transcribe, audio_attachment
from agent.services import Services
from agent.state import Context, InputState, State
from graphs import profile

# Where a run goes next: one of the graph's nodes, or its end (LangGraph's END).
Route = Literal[
    "read_files", "transcribe", "judge", "retrieve", "select_model", "generate", "approve", "act", "speak", "__end__"
]
DONE: Literal["__end__"] = "__end__"  # END, typed as a route


def after_ingest(state: State) -> list[Route] | Route:
    """Settled by a cheap rule: stop. Text files and PDFs: read first. Audio: transcribe first.
    Otherwise judge and retrieve start together."""
    decision = state.get("decision")
    if decision is not None and not decision.respond:
        return DONE
    if has_unread_files(state["event"]):
        return "read_files"
    return after_read_files(state)


def after_read_files(state: State) -> list[Route] | Route:
    if audio_attachment(state["event"]) is not None:
        return "transcribe"
    return after_transcribe(state)


def after_transcribe(state: State) -> list[Route] | Route:
    """A refused or undecodable recording was already answered in one line. With a cast and nobody
    named yet, the judge picks the speaker before retrieval (whose persona it is)."""
    if state.get("error"):
        return DONE
    if state.get("cast") and state.get("decision") is None:
        return "judge"
    return ["judge", "retrieve"]


def after_judge(state: State) -> Route:
    """Only where the judge chose a character: retrieve for it now. Otherwise retrieve ran alongside."""
    if state.get("cast") and state.get("rule") == "judge":
        decision = state.get("decision")
        return "retrieve" if decision is not None and decision.respond else DONE
    return DONE


def after_generate(state: State) -> Route:
    if state.get("acting"):
        return "approve"
    return "speak" if state.get("reply") and not state.get("error") and state.get("spoken") else DONE


def after_select(state: State) -> Route:
    decision = state.get("decision")
    return "generate" if decision is not None and decision.respond else DONE


def attachment_limits(services: Services) -> Limits:
    s = services.settings
    return Limits(
        max_bytes=s.attachment_max_bytes,
        max_chars=s.attachment_max_chars,
        per_message=s.attachments_per_message,
        pdf_pages=s.attachment_pdf_pages,
        pdf_memory_mb=s.attachment_pdf_memory_mb,
        seconds=s.attachment_read_seconds,
    )


ReplyGraph = CompiledStateGraph[State, Context, InputState, State]


def build(services: Services, checkpointer: Any = None, store: Any = None) -> ReplyGraph:
    s = services
    profiles = profile.build(services)

    async def refresh_profile(event: Event) -> None:
        await profiles.ainvoke({"user_id": event.author_id, "guild_id": event.guild_id, "member": event.author_name})

    builder = StateGraph(State, context_schema=Context, input_schema=InputState)
    builder.add_node(
        "ingest",
        Ingest(
            s.record,
            Arrival(s.record, s.memory, s.gate, s.config.prefixes_for),
            s.cadence,
            s.profiles,
            s.bot_user_id,
            refresh_profile,
            s.gate,
            s.casts,
            s.personas,
            s.settings.cast_chain_turns,
        ),
    )
    builder.add_node("judge", Judge(s.record, s.registry, s.router, s.prompts, s.toolbox))
    builder.add_node(
        "retrieve",
        Retrieve(s.record, s.personas, s.prompts, s.memory, s.settings.retrieval_tokens, lore_scan(s.settings)),
    )
    builder.add_node("select_model", SelectModel(s.registry, s.router, s.record))
    builder.add_node(
        "generate",
        Generate(s.record, s.prompts, s.router, s.settings, s.bot_user_id, s.toolbox, s.config.tool_rounds),
    )
    builder.add_node("approve", Approve(s.toolbox, s.settings.approval_timeout_seconds))
    builder.add_node("act", Act(s.toolbox, s.record))
    builder.add_node(
        "transcribe",
        Transcribe(s.record, s.transcriber, s.settings.voice_max_seconds, s.settings.voice_max_bytes, s.bot_user_id),
    )
    builder.add_node("read_files", ReadFiles(s.record, attachment_limits(s)))
    builder.add_node("speak", Speak(s.speaker, s.settings.data_dir / "voice"))
    builder.add_edge(START, "ingest")
    builder.add_conditional_edges("ingest", after_ingest, ["read_files", "transcribe", "judge", "retrieve", END])
    builder.add_conditional_edges("read_files", after_read_files, ["transcribe", "judge", "retrieve", END])
    builder.add_conditional_edges("judge", after_judge, ["retrieve", END])
    builder.add_conditional_edges("transcribe", after_transcribe, ["judge", "retrieve", END])
    # Waits for both: the judge's decision and the retrieved persona (discarded if it says no).
    builder.add_edge(["judge", "retrieve"], "select_model")
    builder.add_conditional_edges("select_model", after_select, ["generate", END])
    builder.add_conditional_edges("generate", after_generate, ["approve", "speak", END])

    def after_approve(state: State) -> Route:
        # One verdict per pass: each interrupt is the first of its node run.
        return "approve" if pending_approval(state, s.toolbox) is not None else "act"

    builder.add_conditional_edges("approve", after_approve, ["approve", "act"])
    builder.add_edge("act", "generate")
    builder.add_edge("speak", END)
    return builder.compile(checkpointer=checkpointer, store=store, name="reply")
