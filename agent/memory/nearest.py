"""One collection's nearest entries to a question for a persona (and channel), best first."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from agent.events import Snippet, SnippetKind
from agent.memory.entry_filters import by_meaning, visible_to


def nearest(
    collection: Any, vector: list[float], persona: str, k: int, kinds: Sequence[str], channel: int | None = None
) -> list[Snippet]:
    # Unfiltered nearest-neighbour search is what HNSW is fast at; other personas' entries are
    # dropped here. Only when they crowd out this persona's does Chroma filter (slower).
    def run(n: int, where: dict[str, Any] | None) -> tuple[list[Snippet], int]:
        got = collection.query(
            query_embeddings=[vector], n_results=n, where=where, include=["documents", "metadatas", "distances"]
        )
        rows = list(
            zip(
                (got.get("ids") or [[]])[0],
                (got.get("documents") or [[]])[0],
                (got.get("metadatas") or [[]])[0],
                (got.get("distances") or [[]])[0],
                strict=False,
            )
        )
        return [
            Snippet(
                text=doc,
                source=str((meta or {}).get("source", "")),
                score=round(1.0 - float(dist), 4),
                kind=cast(SnippetKind, str((meta or {}).get("kind", ""))),  # one of `kinds`: filtered below
                id=entry_id,
            )
            for entry_id, doc, meta, dist in rows
            if visible_to(meta, persona, channel) and (meta or {}).get("kind") in kinds and by_meaning(meta)
        ], len(rows)

    wide = k * 3
    hits, returned = run(wide, None)
    if len(hits) < k and returned == wide:  # the collection has more: let Chroma filter
        hits, _ = run(k, {"$and": [{"persona": {"$in": [persona, ""]}}, {"kind": {"$in": list(kinds)}}]})
    return hits[:k]
