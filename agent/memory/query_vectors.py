"""Query embeddings started early and shared.

Ingest starts one for a message addressed to the bot, so the embedding runs while the message is stored
and the graph moves on; retrieve picks it up (or starts it, for a message ingest did not foresee)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from agent.memory.embeddings import Embedder

# Vectors kept for reuse: the few messages in flight, not a cache of history.
KEEP = 32

Vector = list[float] | None


class QueryVectors:
    def __init__(self, has_entries: Callable[[Sequence[str]], bool]) -> None:
        # Blocking (Chroma's client may be a server): asked in the worker thread, never on the event loop.
        self._has_entries = has_entries
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="query-embed")
        self._started: OrderedDict[tuple[str, str, tuple[str, ...]], Future[Vector]] = OrderedDict()
        self._lock = threading.Lock()

    def start(self, embedder: Embedder, text: str, scopes: Sequence[str]) -> Future[Vector]:
        """The query's vector, being computed; None when these scopes hold nothing to search."""
        key = (embedder.name, text, tuple(scopes))
        with self._lock:
            found = self._started.get(key)
            if found is None or (found.done() and found.exception() is not None):  # a failure is retried
                found = self._pool.submit(self._embed, embedder, text, tuple(scopes))
                self._started[key] = found
                while len(self._started) > KEEP:
                    self._started.popitem(last=False)
            return found

    def _embed(self, embedder: Embedder, text: str, scopes: tuple[str, ...]) -> Vector:
        if not self._has_entries(scopes):
            return None  # an empty memory: embedding the question would find nothing
        v = embedder.embed_query(text)
        return v
