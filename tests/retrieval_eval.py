"""The labelled retrieval set (tests/data/memory): recall@5 per language. Shared by the test and bench/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agent.memory.knowledge import MemoryStore

DATA = Path(__file__).resolve().parent / "data" / "memory"


def labelled_queries() -> list[dict[str, Any]]:
    return [json.loads(line) for line in (DATA / "queries.jsonl").read_text(encoding="utf-8").splitlines() if line]


def recall_at_5(memory: MemoryStore, scopes: list[str], persona: str) -> tuple[dict[str, float], list[str]]:
    """Fraction of queries whose labelled chunk is among the 5 nearest or triggered by keyword."""
    hits: dict[str, list[bool]] = {}
    misses: list[str] = []
    for q in labelled_queries():
        nearest = memory.search(memory.embedder.embed_query(q["query"]), scopes, persona, 5)
        keyword = memory.keyword_lore(scopes, persona, q["query"])
        ok = any(q["expect"] in s.text for s in [*nearest, *keyword])
        hits.setdefault(q["lang"], []).append(ok)
        if not ok:
            misses.append(q["query"])
    return {lang: sum(r) / len(r) for lang, r in hits.items()}, misses
