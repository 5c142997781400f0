"""Switching embedders: a store written with another embedder is refused at start, never deleted
implicitly (other processes may share the Chroma server); `observer memory migrate` re-embeds it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from agent.errors import ConfigError
from agent.memory.embeddings import Embedder
from agent.memory.entries import COLLECTION_PREFIX, SEP, Entry, Progress
from agent.memory.scopes import GLOBAL

log = logging.getLogger(__name__)

_PAGE = 2000


class EmbedderSwitch:
    """Part of MemoryStore: what to do with collections another embedder wrote."""

    _client: Any  # MemoryStore's chromadb client (opens Chroma)
    _embedder: Embedder
    _prefix: str

    _names: Callable[[], list[str]]  # MemoryStore._names (no need to open Chroma to read them)

    add: Callable[[list[Entry]], int]  # MemoryStore.add

    def other_embedders(self) -> dict[str, str]:
        """Collections written by another embedder: name → that embedder's name (as stored with it)."""
        found: dict[str, str] = {}
        if not any(n.startswith(COLLECTION_PREFIX) and not n.startswith(self._prefix) for n in self._names()):
            return found  # asked without opening Chroma: a store with none of them is the usual case
        for collection in self._client.list_collections():
            name = collection if isinstance(collection, str) else collection.name
            if name.startswith(COLLECTION_PREFIX) and not name.startswith(self._prefix):
                metadata = getattr(collection, "metadata", None) or {}
                found[name] = str(metadata.get("embedder") or "an unknown embedder")
        return found

    def _refuse_other_embedders(self) -> None:
        others = sorted(set(self.other_embedders().values()))
        if others:
            raise ConfigError(
                f"memory: the Chroma store was embedded with {', '.join(others)}, but this process embeds with "
                f"{self._embedder.name} (OBSERVER_EMBEDDING_*); make the settings match, or run "
                "`observer memory migrate` once to re-embed everything with the current settings"
            )

    def migrate_embedder(self, progress: Progress | None = None) -> int:
        """Re-embed every entry written by another embedder with this one, then drop the old collections.

        Returns how many entries moved. Entries are added before their old collection is dropped, so a
        migration that stops half-way loses nothing and can be run again."""
        moved = 0
        for name in self.other_embedders():
            old = self._client.get_collection(name)
            total = old.count()
            log.warning("re-embedding %d memory entries from %s with %s", total, name, self._embedder.name)
            offset = 0
            while offset < total:
                page = old.get(include=["documents", "metadatas"], limit=_PAGE, offset=offset)
                entries = [
                    Entry(
                        kind=str(m.get("kind", "")),
                        scope=str(m.get("scope", GLOBAL)),
                        persona=str(m.get("persona", "")),
                        source=str(m.get("source", "")),
                        text=doc,
                        keywords=tuple(k for k in str(m.get("keywords", "")).split(SEP) if k),
                        embed_text=str(m.get("embedded", "")),
                    )
                    for doc, m in zip(page["documents"] or [], page["metadatas"] or [], strict=False)
                ]
                self.add(entries)
                offset += _PAGE
                moved += len(entries)
                if progress:
                    progress(min(offset, total), total)
            self._client.delete_collection(name)
        return moved
