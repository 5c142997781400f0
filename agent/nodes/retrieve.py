"""retrieve: who speaks (persona), what it knows that fits (lore, knowledge, guidance) and the
member's profile. Runs alongside the judge, so its cost hides behind the judge's."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from langgraph.runtime import Runtime

from agent.events import Event
from agent.memory.knowledge import MemoryStore
from agent.memory.persona_files.examples import ExampleTurn, example_turns, split_examples
from agent.memory.personas import DEFAULT_PERSONA, PersonaCatalog
from agent.memory.recall import query_of, recall
from agent.memory.record import Record
from agent.memory.scopes import readable_scopes
from agent.memory.world_info.activation import Scan
from agent.memory.world_info.macros import fill_macros
from agent.memory.world_info.prompt_fill import fill_snippets, macro_context
from agent.prompts import PromptLibrary
from agent.settings import Settings
from agent.state import Context, State, context_of

# How many recent messages, the new one included, are scanned for lore keys (SillyTavern's "scan
# depth"; OBSERVER_LORE_SCAN_DEPTH, and an entry may ask for more).
KEYWORD_SCAN_DEPTH = 4


def lore_scan(settings: Settings) -> Scan:
    return Scan(
        depth=settings.lore_scan_depth,
        recursion_steps=settings.lore_recursion_steps,
        key_timeout=settings.lore_key_timeout_seconds,
        total_timeout=settings.lore_match_budget_seconds,
    )


async def persona_for(
    personas: PersonaCatalog,
    prompts: PromptLibrary,
    event: Event,
    scopes: list[str],
    requested: str | None,
    bot_name: str,
) -> tuple[str, str, list[ExampleTurn]]:
    """(name, prompt text, example turns with macros unfilled): the run's choice, else the channel's,
    else the guild's, else the default."""
    name = requested or await personas.chosen(event.guild_id, event.channel_id) or DEFAULT_PERSONA
    if name != DEFAULT_PERSONA:
        stored = await personas.find(name, scopes)
        if stored is not None:
            return stored.card.name, stored.card.prompt_text(), stored.card.example_turns()
    # The default persona is prompts/persona.md and prompts/examples.md (hot-reloaded, overridable per guild).
    text, examples = await asyncio.gather(
        prompts.arender("persona", event.guild_id, bot_name=bot_name),
        prompts.arender("examples", event.guild_id, user="{{user}}", char="{{char}}"),
    )
    return DEFAULT_PERSONA, text, [turn for e in split_examples(examples) for turn in example_turns(e) or []]


@dataclass
class Retrieve:
    """Persona, memory and the member profile for this message."""

    record: Record
    personas: PersonaCatalog
    prompts: PromptLibrary
    memory: MemoryStore
    retrieval_tokens: int
    scan: Scan = field(default_factory=lambda: Scan(depth=KEYWORD_SCAN_DEPTH))

    async def __call__(self, state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        started = time.perf_counter()
        event = state["event"]
        ctx = context_of(runtime)
        scopes = readable_scopes(event.guild_id, event.author_id)
        query = query_of(event)
        self.memory.start_query(query, scopes)  # usually started by ingest already
        # Independent reads side by side, while the question's embedding finishes in its thread.
        decision = state.get("decision")
        speaker = decision.speaker if decision is not None else None
        depth = await asyncio.to_thread(self.memory.scan_depth, scopes, self.scan.depth)
        (persona, persona_text, examples), recent, profile = await asyncio.gather(
            persona_for(self.personas, self.prompts, event, scopes, speaker or ctx.persona, ctx.bot_name),
            self.record.window(event.channel_id, max(depth - 1, 1), before_id=event.message_id),
            self.record.profile(event.author_id, event.guild_id),
        )
        recalled = await asyncio.to_thread(
            recall,
            self.memory,
            query=query,
            recent_text=[*(line.text for line in recent), event.text],
            scopes=scopes,
            persona=persona,
            budget_tokens=self.retrieval_tokens,
            scan=self.scan,
            channel=event.channel_id,
        )
        macros = macro_context(event, persona if persona != DEFAULT_PERSONA else ctx.bot_name, recent)
        persona_text = fill_macros(persona_text, macros)
        example_lines = [(role, fill_macros(text, macros)) for role, text in examples]
        if speaker:
            others = [c.name for c in state.get("cast") or [] if c.name != speaker]
            scene = await self.prompts.arender(
                "cast", event.guild_id, speaker=speaker, others=", ".join([*others, "the members"])
            )
            persona_text = f"{persona_text}\n\n{scene}"
        return {
            "persona": persona,
            "persona_text": persona_text,
            "persona_examples": example_lines,
            "retrieved": fill_snippets(recalled.snippets, macros),
            "member_profile": profile["profile"] if profile else "",
            "profile_temperature": profile["temperature"] if profile else None,
            "timings": {
                "retrieve_ms": (time.perf_counter() - started) * 1000,
                "embed_ms": recalled.embed_ms,
                "search_ms": recalled.search_ms,
            },
        }
