"""retrieve: persona (and later memory) snippets nearest to the message. Runs alongside the judge."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from langgraph.runtime import Runtime

from agent.events import Snippet
from agent.models.tokens import shorten_middle
from agent.services import get_services
from agent.state import Context, State, context_of

PERSONA_SNIPPETS = 3


async def retrieve(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    started = time.perf_counter()
    services = await get_services()
    event = state["event"]
    query = shorten_middle(event.text or event.describe_attachments(), 200)
    persona = context_of(runtime).persona

    def embed_and_search() -> tuple[list[Snippet], float]:
        embed_started = time.perf_counter()
        vector = services.embedder.embed_query(query)
        embed_ms = (time.perf_counter() - embed_started) * 1000
        return services.persona.search_vector(persona, vector, PERSONA_SNIPPETS), embed_ms

    snippets, embed_ms = await asyncio.to_thread(embed_and_search)
    profile = await services.record.profile(event.author_id, event.guild_id)
    return {
        "retrieved": snippets,
        "member_profile": profile["profile"] if profile else "",
        "profile_temperature": profile["temperature"] if profile else None,
        "timings": {"retrieve_ms": (time.perf_counter() - started) * 1000, "embed_ms": embed_ms},
    }
