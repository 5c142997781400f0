"""What a message would retrieve, every candidate with its score and whether it goes into the reply's
prompt: `observer persona search` prints it, the dashboard's Knowledge page shows it."""

from __future__ import annotations

from dataclasses import dataclass

from agent.memory.knowledge import MemoryStore
from agent.memory.personas import DEFAULT_PERSONA
from agent.memory.recall import recall
from agent.memory.scopes import readable_scopes
from agent.memory.world_info.macros import MacroContext, fill_macros
from agent.nodes.retrieve import lore_scan
from agent.settings import Settings


@dataclass(frozen=True)
class Candidate:
    chosen: bool  # within the token budget: goes into the reply's prompt
    how: str  # "keyword" (World Info lore its keys turned on) or the similarity, "0.812"
    kind: str  # lore, knowledge, guidance
    source: str  # as stored ("message:<id>" for guidance learnt about a message)
    text: str  # with {{char}} and {{user}} filled as the reply fills them


@dataclass(frozen=True)
class SearchView:
    persona: str
    scopes: list[str]
    embed_ms: float
    search_ms: float
    candidates: list[Candidate]


def persona_search(
    memory: MemoryStore,
    settings: Settings,
    query: str,
    *,
    guild: int | None = None,
    persona: str = DEFAULT_PERSONA,
    channel: int | None = None,
    user: str = "User",
) -> SearchView:
    """As if `user` asked `query` in `guild` (None: a DM) and `channel`. Blocking (embedding, Chroma)."""
    scopes = readable_scopes(guild, None)
    found = recall(
        memory,
        query=query,
        recent_text=query,
        scopes=scopes,
        persona=persona,
        budget_tokens=settings.retrieval_tokens,
        scan=lore_scan(settings),
        channel=channel,
    )
    chosen = {s.text for s in found.snippets}
    speaker = settings.bot_name if persona == DEFAULT_PERSONA else persona
    macros = MacroContext(char=speaker, user=user)
    candidates = [
        Candidate(
            chosen=s.text in chosen,
            how="keyword" if s.id.startswith("kw:") else f"{s.score:.3f}",
            kind=s.kind,
            source=s.source,
            text=fill_macros(s.text, macros),
        )
        for s in found.candidates
    ]
    return SearchView(persona, scopes, found.embed_ms, found.search_ms, candidates)
