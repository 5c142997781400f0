"""What the bot knows, in Chroma: lore, knowledge chunks and learned guidance.

Every entry has a scope: "global", "guild:<id>" or "user:<id>" (a member's own, from DMs), and
each scope is its own collection. A reply searches only the collections it may read, so one guild
never sees another's entries, and a search costs the same however many other guilds there are
(a metadata filter over one shared collection made Chroma scan them all: ~170 ms at 100k vectors).
Collection names carry the embedder, so two vector spaces never mix. A process whose embedder
differs from the one the store was written with refuses to start (nothing is deleted implicitly:
other processes may share the Chroma server); `observer memory migrate` re-embeds on purpose.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from agent.cache import TtlCache
from agent.events import Snippet
from agent.memory.chroma import LazyChroma, defer_chromas_trace_exporter
from agent.memory.embedder_switch import EmbedderSwitch
from agent.memory.embeddings import Embedder
from agent.memory.entries import Entry, Progress, collection_name, collection_prefix
from agent.memory.entry_filters import rule_of, visible_to
from agent.memory.nearest import nearest
from agent.memory.query_vectors import QueryVectors
from agent.memory.world_info.activation import Candidate, Scan, activate

__all__ = ["Entry", "MemoryStore", "Progress", "SyncResult"]

log = logging.getLogger(__name__)

EMBED_BATCH = 64
_PAGE = 2000
# Keyword lists and "this scope has no collection" are re-read after this long (another process may write).
_RECHECK_SECONDS = 30.0


@dataclass
class SyncResult:
    added: int = 0
    removed: int = 0
    kept: int = 0


class MemoryStore(EmbedderSwitch):
    def __init__(self, client: Any, embedder: Embedder, *, check_embedder: bool = True) -> None:
        """`client`: a `LazyChroma` (opened when first needed) or an open chromadb client."""
        self._chroma = client if isinstance(client, LazyChroma) else LazyChroma.wrapping(client)
        self._embedder = embedder
        self._prefix = collection_prefix(embedder)
        self._collections: dict[str, Any] = {}
        self._absent: TtlCache[str, bool] = TtlCache(_RECHECK_SECONDS)
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="memory-search")
        self._keyword_cache: TtlCache[str, list[Candidate[dict[str, Any]]]] = TtlCache(_RECHECK_SECONDS)
        self._queries = QueryVectors(self.has_entries)
        if check_embedder:
            self._refuse_other_embedders()

    @property
    def _client(self) -> Any:
        return self._chroma.client

    def _names(self) -> list[str]:
        return self._chroma.names()

    def _collection(self, scope: str, create: bool = False) -> Any | None:
        """The scope's collection; None when it has never been written (checked again after a while,
        since another process may create it)."""
        found = self._collections.get(scope)
        if found is not None:
            return found
        name = collection_name(self._embedder, scope)
        if create:
            found = self._client.get_or_create_collection(
                name, embedding_function=None, metadata={"hnsw:space": "cosine", "embedder": self._embedder.name}
            )
        else:
            if scope in self._absent:
                return None
            if not self._chroma.opened and name not in self._chroma.names():
                self._absent.put(scope, True)  # nothing written yet: Chroma stays closed
                return None
            defer_chromas_trace_exporter()
            from chromadb.errors import NotFoundError

            try:
                found = self._client.get_collection(name, embedding_function=None)
            except NotFoundError:
                self._absent.put(scope, True)
                return None
        self._absent.forget(scope)
        self._collections[scope] = found
        return found

    @property
    def embedder(self) -> Embedder:
        return self._embedder

    def is_empty(self) -> bool:
        """Blocking: nothing was ever written with this embedder (answered without opening Chroma)."""
        return not any(n.startswith(self._prefix) for n in self._names())

    def count(self) -> int:
        return sum(int(self._client.get_collection(n).count()) for n in self._names() if n.startswith(self._prefix))

    # ----- writing -----

    def _embed(self, entries: Sequence[Entry], progress: Progress | None = None) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(entries), EMBED_BATCH):
            batch = entries[start : start + EMBED_BATCH]
            vectors.extend(self._embedder.embed_passages([e.embed_text or e.text for e in batch]))
            if progress:
                progress(len(vectors), len(entries))
        return vectors

    def add(self, entries: Sequence[Entry], progress: Progress | None = None) -> int:
        """Add entries not already present (same content, same id). Returns how many were new."""
        unique = {e.id: e for e in entries}
        if not unique:
            return 0
        new: list[Entry] = []
        for scope in sorted({e.scope for e in unique.values()}):
            ids = [i for i, e in unique.items() if e.scope == scope]
            collection = self._collection(scope)
            present = set(collection.get(ids=ids, include=[])["ids"]) if collection is not None else set()
            new.extend(unique[i] for i in ids if i not in present)
        if not new:
            return 0
        vectors = self._embed(new, progress)  # everything embedded before anything is written
        for start in range(0, len(new), _PAGE):
            page = new[start : start + _PAGE]
            page_vectors = vectors[start : start + _PAGE]
            for scope in sorted({e.scope for e in page}):
                rows = [(e, v) for e, v in zip(page, page_vectors, strict=True) if e.scope == scope]
                target = self._collection(scope, create=True)
                assert target is not None
                target.add(
                    ids=[e.id for e, _ in rows],
                    documents=[e.text for e, _ in rows],
                    embeddings=[v for _, v in rows],  # type: ignore[arg-type]
                    metadatas=[e.metadata() for e, _ in rows],  # type: ignore[arg-type]
                )
        self._forget_keywords({e.scope for e in new})
        return len(new)

    def sync(
        self,
        entries: Sequence[Entry],
        *,
        scope: str,
        owns: Callable[[str], bool],
        progress: Progress | None = None,
    ) -> SyncResult:
        """Make the scope's lore and knowledge from sources `owns` accepts exactly `entries`.

        Unchanged entries are kept (same content hash), edited ones replaced, removed ones deleted.
        """
        collection = self._collection(scope)
        existing: dict[str, Any] = (
            collection.get(where={"kind": {"$in": ["lore", "knowledge"]}}, include=["metadatas"])
            if collection is not None
            else {"ids": [], "metadatas": []}
        )
        owned = {
            i
            for i, meta in zip(existing["ids"], existing["metadatas"] or [], strict=False)
            if owns(str((meta or {}).get("source", "")))
        }
        wanted = {e.id for e in entries}
        added = self.add([e for e in entries if e.id not in owned], progress)
        stale = sorted(owned - wanted)
        for start in range(0, len(stale), _PAGE):
            assert collection is not None
            collection.delete(ids=stale[start : start + _PAGE])
        self._forget_keywords({scope})
        return SyncResult(added=added, removed=len(stale), kept=len(owned & wanted))

    def entries(self, scope: str, where: dict[str, Any] | None = None) -> list[tuple[str, dict[str, Any]]]:
        collection = self._collection(scope)
        if collection is None:
            return []
        got = collection.get(where=where, include=["documents", "metadatas"])
        docs, metas = got["documents"] or [], got["metadatas"] or []
        return [(doc, dict(meta or {})) for doc, meta in zip(docs, metas, strict=False)]

    # ----- reading -----

    def has_entries(self, scopes: Sequence[str]) -> bool:
        """Blocking: whether any of these scopes was ever written (a search could find something)."""
        return any(self._collection(scope) is not None for scope in scopes)

    def start_query(self, text: str, scopes: Sequence[str]) -> Future[list[float] | None]:
        """Start embedding a question now (in a worker thread) for a search soon; None if nothing to search."""
        return self._queries.start(self._embedder, text, scopes)

    def search(
        self,
        vector: list[float],
        scopes: Sequence[str],
        persona: str,
        k: int,
        kinds: Sequence[str] = ("lore", "knowledge", "guidance"),
        channel: int | None = None,
    ) -> list[Snippet]:
        """The k nearest entries for this persona (and channel) across the readable scopes, best first."""
        collections = [c for c in (self._collection(scope) for scope in scopes) if c is not None]
        if len(collections) > 1:  # Chroma releases the GIL: the scopes are searched at the same time
            batches = list(self._pool.map(lambda c: nearest(c, vector, persona, k, kinds, channel), collections))
        else:
            batches = [nearest(c, vector, persona, k, kinds, channel) for c in collections]
        found = [hit for batch in batches for hit in batch]
        found.sort(key=lambda s: s.score, reverse=True)
        return found[:k]

    def keyword_lore(
        self,
        scopes: Sequence[str],
        persona: str,
        messages: Sequence[str] | str,
        scan: Scan | None = None,
        channel: int | None = None,
    ) -> list[Snippet]:
        """Lore the recent messages (oldest first) turn on, by SillyTavern's World Info rules, highest
        order first: keys, secondary keys, constant entries, scan depth, recursion."""
        recent = [messages] if isinstance(messages, str) else list(messages)
        candidates = [
            c for scope in scopes for c in self._keyword_entries(scope) if visible_to(c.item, persona, channel)
        ]
        return [
            Snippet(
                text=c.text,
                source=str(c.item.get("source", "")),
                score=1.0,
                kind="lore",
                id=f"kw:{c.item.get('id', '')}",
            )
            for c in activate(candidates, recent, scan or Scan())
        ]

    def scan_depth(self, scopes: Sequence[str], default: int) -> int:
        """Blocking: how many recent messages an activation may look at (an entry may ask for more)."""
        depths = [c.rule.scan_depth or 0 for scope in scopes for c in self._keyword_entries(scope)]
        return min(max([default, *depths]), 100)

    def _keyword_entries(self, scope: str) -> list[Candidate[dict[str, Any]]]:
        cached = self._keyword_cache.get(scope)
        if cached is not None:
            return cached
        entries = []
        collection = self._collection(scope)
        got = collection.get(where={"kind": "lore"}, include=["documents", "metadatas"]) if collection else None
        if got is not None:
            for entry_id, doc, meta in zip(got["ids"], got["documents"] or [], got["metadatas"] or [], strict=False):
                meta = dict(meta or {})
                rule = rule_of(meta)
                if rule is not None and rule.triggers:
                    meta["id"] = entry_id
                    entries.append(Candidate(rule, doc, meta))
        self._keyword_cache.put(scope, entries)
        return entries

    def _forget_keywords(self, scopes: Iterable[str]) -> None:
        for scope in scopes:
            self._keyword_cache.forget(scope)
