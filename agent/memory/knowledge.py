"""What the bot knows, in one Chroma collection: lore, knowledge chunks and learned guidance.

Every entry carries a scope: "global", "guild:<id>" or "user:<id>" (a member's own, from DMs).
Searches name the scopes they may read, so one guild never sees another's entries. The collection
is named after the embedder: switching embedding provider re-embeds into a new collection instead
of mixing two vector spaces in one.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from agent.events import Snippet
from agent.memory.embeddings import Embedder

log = logging.getLogger(__name__)

COLLECTION_PREFIX = "memory_"
EMBED_BATCH = 64
_PAGE = 2000
_KEYWORD_CACHE_SECONDS = 30.0
_SEP = "\x1f"

Progress = Callable[[int, int], None]


def collection_name(embedder: Embedder) -> str:
    return COLLECTION_PREFIX + hashlib.sha256(embedder.name.encode()).hexdigest()[:12]


def scope_of(guild_id: int | None) -> str:
    return f"guild:{guild_id}" if guild_id is not None else "global"


def readable_scopes(guild_id: int | None, user_id: int | None) -> list[str]:
    """A guild reads global and its own entries; a DM reads global and the member's own."""
    if guild_id is not None:
        return ["global", f"guild:{guild_id}"]
    return ["global", f"user:{user_id}"] if user_id is not None else ["global"]


@dataclass(frozen=True)
class Entry:
    kind: str  # lore | knowledge | guidance
    scope: str
    persona: str  # "" applies to every persona in the scope
    source: str
    text: str
    keywords: tuple[str, ...] = ()
    # What is embedded when it differs from the text (guidance: the situation it is about).
    embed_text: str = ""

    @property
    def id(self) -> str:
        key = _SEP.join([self.kind, self.scope, self.persona, self.source, *self.keywords, self.embed_text, self.text])
        return hashlib.sha256(key.encode()).hexdigest()[:32]

    def metadata(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "scope": self.scope,
            "persona": self.persona,
            "source": self.source,
            "keywords": _SEP.join(k.lower() for k in self.keywords),
            "embedded": self.embed_text,
        }


@dataclass
class SyncResult:
    added: int = 0
    removed: int = 0
    kept: int = 0


def _keyword_pattern(keywords: Iterable[str]) -> re.Pattern[str] | None:
    """Latin keywords match whole words; CJK ones (no spaces between words) match anywhere."""
    parts = []
    for k in keywords:
        k = k.strip().lower()
        if not k:
            continue
        if re.fullmatch(r"[\w\s'-]+", k, flags=re.ASCII):
            parts.append(rf"(?<!\w){re.escape(k)}(?!\w)")
        else:
            parts.append(re.escape(k))
    return re.compile("|".join(parts)) if parts else None


class MemoryStore:
    def __init__(self, client: Any, embedder: Embedder) -> None:
        self._client = client
        self._embedder = embedder
        self._collection = client.get_or_create_collection(
            collection_name(embedder),
            embedding_function=None,
            metadata={"hnsw:space": "cosine", "embedder": embedder.name},
        )
        self._lock = threading.Lock()
        self._keyword_cache: dict[str, tuple[float, list[tuple[re.Pattern[str], str, str, str]]]] = {}
        self._migrate_from_other_embedders()

    @property
    def embedder(self) -> Embedder:
        return self._embedder

    def count(self) -> int:
        return int(self._collection.count())

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
        present = set(self._collection.get(ids=list(unique), include=[])["ids"])
        new = [e for i, e in unique.items() if i not in present]
        if new:
            vectors = self._embed(new, progress)  # everything embedded before anything is written
            for start in range(0, len(new), _PAGE):
                page = new[start : start + _PAGE]
                self._collection.add(
                    ids=[e.id for e in page],
                    documents=[e.text for e in page],
                    embeddings=vectors[start : start + _PAGE],  # type: ignore[arg-type]
                    metadatas=[e.metadata() for e in page],  # type: ignore[arg-type]
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
        existing = self._collection.get(
            where={"$and": [{"scope": scope}, {"kind": {"$in": ["lore", "knowledge"]}}]}, include=["metadatas"]
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
            self._collection.delete(ids=stale[start : start + _PAGE])
        self._forget_keywords({scope})
        return SyncResult(added=added, removed=len(stale), kept=len(owned & wanted))

    def delete_where(self, where: dict[str, Any]) -> int:
        ids = self._collection.get(where=where, include=[])["ids"]
        if ids:
            self._collection.delete(ids=ids)
        self._keyword_cache.clear()
        return len(ids)

    def entries(self, where: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        got = self._collection.get(where=where, include=["documents", "metadatas"])
        return [
            (doc, dict(meta or {})) for doc, meta in zip(got["documents"] or [], got["metadatas"] or [], strict=False)
        ]

    # ----- reading -----

    @staticmethod
    def _filter(scopes: Sequence[str], persona: str, kinds: Sequence[str]) -> dict[str, Any]:
        return {
            "$and": [
                {"scope": {"$in": list(scopes)}},
                {"persona": {"$in": [persona, ""]}},
                {"kind": {"$in": list(kinds)}},
            ]
        }

    def search(
        self,
        vector: list[float],
        scopes: Sequence[str],
        persona: str,
        k: int,
        kinds: Sequence[str] = ("lore", "knowledge", "guidance"),
    ) -> list[Snippet]:
        found = self._collection.query(
            query_embeddings=[vector],
            n_results=k,
            where=self._filter(scopes, persona, kinds),
            include=["documents", "metadatas", "distances"],
        )
        docs = (found.get("documents") or [[]])[0]
        metas = (found.get("metadatas") or [[]])[0]
        dists = (found.get("distances") or [[]])[0]
        return [
            Snippet(
                text=doc,
                source=str((meta or {}).get("source", "")),
                score=round(1.0 - float(dist), 4),
                kind=str((meta or {}).get("kind", "")),
                id=entry_id,
            )
            for entry_id, doc, meta, dist in zip((found.get("ids") or [[]])[0], docs, metas, dists, strict=False)
        ]

    def keyword_lore(self, scopes: Sequence[str], persona: str, text: str) -> list[Snippet]:
        """Lore whose trigger words appear in the text (SillyTavern's World Info), in entry order."""
        lowered = text.lower()
        hits: list[Snippet] = []
        for scope in scopes:
            for pattern, entry_persona, doc, source in self._keyword_entries(scope):
                if entry_persona in (persona, "") and (m := pattern.search(lowered)):
                    hits.append(
                        Snippet(
                            text=doc, source=source, score=1.0, kind="lore", id=f"kw:{m.group(0)}:{source}:{doc[:24]}"
                        )
                    )
        return hits

    def _keyword_entries(self, scope: str) -> list[tuple[re.Pattern[str], str, str, str]]:
        cached = self._keyword_cache.get(scope)
        if cached is not None and time.monotonic() - cached[0] < _KEYWORD_CACHE_SECONDS:
            return cached[1]
        got = self._collection.get(
            where={"$and": [{"scope": scope}, {"kind": "lore"}, {"keywords": {"$ne": ""}}]},
            include=["documents", "metadatas"],
        )
        entries = []
        for doc, meta in zip(got["documents"] or [], got["metadatas"] or [], strict=False):
            meta = meta or {}
            pattern = _keyword_pattern(str(meta.get("keywords", "")).split(_SEP))
            if pattern is not None:
                entries.append((pattern, str(meta.get("persona", "")), doc, str(meta.get("source", ""))))
        self._keyword_cache[scope] = (time.monotonic(), entries)
        return entries

    def _forget_keywords(self, scopes: Iterable[str]) -> None:
        for scope in scopes:
            self._keyword_cache.pop(scope, None)

    # ----- switching embedders -----

    def _migrate_from_other_embedders(self) -> None:
        """Entries embedded by another provider are re-embedded here, then the old collection is dropped."""
        names = [c if isinstance(c, str) else c.name for c in self._client.list_collections()]
        others = [n for n in names if n.startswith(COLLECTION_PREFIX) and n != self._collection.name]
        for name in others:
            old = self._client.get_collection(name)
            total = old.count()
            log.warning("re-embedding %d memory entries from %s with %s", total, name, self._embedder.name)
            offset = 0
            while offset < total:
                page = old.get(include=["documents", "metadatas"], limit=_PAGE, offset=offset)
                entries = [
                    Entry(
                        kind=str(m.get("kind", "")),
                        scope=str(m.get("scope", "global")),
                        persona=str(m.get("persona", "")),
                        source=str(m.get("source", "")),
                        text=doc,
                        keywords=tuple(k for k in str(m.get("keywords", "")).split(_SEP) if k),
                        embed_text=str(m.get("embedded", "")),
                    )
                    for doc, m in zip(page["documents"] or [], page["metadatas"] or [], strict=False)
                ]
                self.add(entries)
                offset += _PAGE
            self._client.delete_collection(name)
