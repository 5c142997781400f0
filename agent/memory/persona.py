"""The persona collection in Chroma: who the bot is, retrieved by meaning for each reply."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from agent.events import Snippet
from agent.memory.embeddings import Embedder

PERSONA_COLLECTION = "persona"


def open_chroma(data_dir: Path, url: str | None = None) -> Any:
    """A persistent client in the data dir, or an HTTP client for a Chroma server. Telemetry off."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False)
    if url:
        from urllib.parse import urlparse

        parts = urlparse(url)
        return chromadb.HttpClient(
            host=parts.hostname or "localhost",
            port=parts.port or 8000,
            ssl=parts.scheme == "https",
            settings=settings,
        )
    path = data_dir / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=settings)


def split_paragraphs(text: str, max_chars: int = 800) -> list[str]:
    """Paragraph chunks; a long paragraph is cut at sentence ends (CJK 。！？ included)."""
    chunks: list[str] = []
    for para in re.split(r"\n\s*\n", text):
        para = para.strip()
        while len(para) > max_chars:
            cut = max((m.end() for m in re.finditer(r"[.!?。！？]\s*", para[:max_chars])), default=max_chars)
            chunks.append(para[:cut].strip())
            para = para[cut:].strip()
        if para:
            chunks.append(para)
    return chunks


class PersonaStore:
    def __init__(self, client: Any, embedder: Embedder) -> None:
        self._embedder = embedder
        self._collection = client.get_or_create_collection(
            PERSONA_COLLECTION,
            embedding_function=None,
            metadata={"hnsw:space": "cosine", "embedder": embedder.name},
        )

    def sync(self, persona: str, text: str) -> int:
        """Make the collection hold exactly these chunks for this persona (by content hash).

        Returns how many chunks were embedded; 0 when nothing changed.
        """
        chunks = split_paragraphs(text)
        wanted = {f"{persona}:{hashlib.sha256(c.encode()).hexdigest()[:24]}": c for c in chunks}
        existing = set(self._collection.get(where={"persona": persona}, include=[])["ids"])
        stale = list(existing - set(wanted))
        if stale:
            self._collection.delete(ids=stale)
        new_ids = [i for i in wanted if i not in existing]
        if new_ids:
            docs = [wanted[i] for i in new_ids]
            self._collection.add(
                ids=new_ids,
                documents=docs,
                embeddings=self._embedder.embed_passages(docs),  # type: ignore[arg-type]
                metadatas=[{"persona": persona, "kind": "persona"} for _ in new_ids],
            )
        return len(new_ids)

    def search_vector(self, persona: str, vector: list[float], k: int = 3) -> list[Snippet]:
        found = self._collection.query(
            query_embeddings=[vector], n_results=k, where={"persona": persona}, include=["documents", "distances"]
        )
        docs = (found.get("documents") or [[]])[0]
        dists = (found.get("distances") or [[]])[0]
        return [
            Snippet(text=doc, source=f"persona:{persona}", score=round(1.0 - float(dist), 4))
            for doc, dist in zip(docs, dists, strict=False)
        ]
