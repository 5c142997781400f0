"""What one reply gets to know: keyword lore, nearest lore and knowledge, and past corrections,
chosen under a token budget. Used by the retrieve node and by `observer persona search`."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from agent.events import Event, Snippet
from agent.memory.knowledge import MemoryStore
from agent.memory.world_info.activation import Scan
from agent.models.tokens import approx_tokens, shorten_middle

NEAREST = 8
MAX_SNIPPETS = 6
# Guidance is only worth quoting for a really similar situation. With the bundled, centred e5
# embeddings a paraphrase scores about 0.7, the same question in another language 0.4, an
# unrelated one under 0.2.
GUIDANCE_MIN_SCORE = 0.35


@dataclass
class Recalled:
    snippets: list[Snippet]
    candidates: list[Snippet]  # everything considered, with scores (for `persona search`)
    embed_ms: float
    search_ms: float


def choose(keyword_hits: Sequence[Snippet], nearest: Sequence[Snippet], budget_tokens: int) -> list[Snippet]:
    """World Info lore first (the members named it; highest order first, as many as the budget holds),
    then up to MAX_SNIPPETS by similarity; each text once, all within budget."""
    # keyword_hits arrive highest order first (world_info.activation).
    picked: list[Snippet] = []
    seen: set[str] = set()
    used = 0
    ranked = list(keyword_hits) + sorted(
        (s for s in nearest if s.kind != "guidance" or s.score >= GUIDANCE_MIN_SCORE),
        key=lambda s: s.score,
        reverse=True,
    )
    keyed = len(keyword_hits)
    similar = 0
    overflowed = False
    for position, snippet in enumerate(ranked):
        by_key = position < keyed
        if snippet.text in seen or (by_key and overflowed) or (not by_key and similar >= MAX_SNIPPETS):
            continue
        cost = approx_tokens(snippet.text)
        if used + cost > budget_tokens:
            # As SillyTavern: once lore overflows the budget, lower-order lore does not jump the queue.
            overflowed = overflowed or by_key
            continue
        picked.append(snippet)
        seen.add(snippet.text)
        used += cost
        similar += 0 if by_key else 1
    return picked


def query_of(event: Event) -> str:
    """What a message searches memory with (ingest starts its embedding early; retrieve uses it): its
    text without the bot's own mention, which every question to the bot shares."""
    return shorten_middle(event.text_for_model() or event.text or event.describe_attachments(), 200)


def recall(
    memory: MemoryStore,
    *,
    query: str,
    recent_text: str | Sequence[str],
    scopes: Sequence[str],
    persona: str,
    budget_tokens: int,
    k: int = NEAREST,
    scan: Scan | None = None,
    channel: int | None = None,
) -> Recalled:
    """Blocking (embedding and Chroma): call from a worker thread."""
    started = time.perf_counter()
    vector = memory.start_query(query, scopes).result()  # often started by ingest, and done by now
    embedded = time.perf_counter()
    nearest = memory.search(vector, scopes, persona, k, channel=channel) if vector is not None else []
    keyword_hits = memory.keyword_lore(scopes, persona, recent_text, scan, channel)
    done = time.perf_counter()
    return Recalled(
        snippets=choose(keyword_hits, nearest, budget_tokens),
        candidates=keyword_hits + nearest,
        embed_ms=(embedded - started) * 1000,
        search_ms=(done - embedded) * 1000,
    )


def render_memory(snippets: Sequence[Snippet]) -> str:
    """The {memory} block of the system prompt."""
    lines = []
    for s in snippets:
        if s.kind == "guidance":
            lines.append(f"- Learned from a member's correction: {s.text}")
        else:
            lines.append(f"- {s.text}")
    return "\n".join(lines)  # empty: the prompt's paragraph about memory is left out
