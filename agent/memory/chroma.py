"""Opening Chroma: files in the data dir, or a Chroma server when OBSERVER_CHROMA_URL is set.

Importing chromadb and opening its client costs about 0.7 s of CPU and tens of MiB, so a store in the
data dir is opened only once something in it is needed: `LazyChroma.names()` reads the collection names
straight from Chroma's SQLite file (read-only) while the client is closed, and a bot whose memory is
empty never loads Chroma at all."""

from __future__ import annotations

import importlib
import importlib.machinery
import sqlite3
import sys
import threading
import types
from contextlib import closing
from pathlib import Path
from typing import Any

CHROMA_FILE = "chroma.sqlite3"  # Chroma's own catalogue in a persistent folder

# chromadb imports OpenTelemetry's gRPC span exporter when it is imported (grpc and protobuf: ~18 MiB
# resident, 0.1 s), for a trace collector only a Chroma *server* set up with one ever sends to.
TRACE_EXPORTER = "opentelemetry.exporter.otlp.proto.grpc.trace_exporter"


_loading_exporter = threading.Lock()


def _real_trace_exporter() -> types.ModuleType:
    """The real exporter module, imported now if the stand-in still holds its place (once, thread-safe)."""
    with _loading_exporter:
        module = sys.modules.get(TRACE_EXPORTER)
        if module is not None and not getattr(module, "OBSERVER_STAND_IN", False):
            return module
        sys.modules.pop(TRACE_EXPORTER, None)
        return importlib.import_module(TRACE_EXPORTER)  # also takes the stand-in's place in its package


def defer_chromas_trace_exporter() -> None:
    """Call before importing chromadb: a stand-in module takes the exporter's place, and the real one is
    imported the moment anything builds an exporter or reads any other name of the module, which then
    gets the real class's instance or the real name."""
    if TRACE_EXPORTER in sys.modules:
        return
    package_name, _, leaf = TRACE_EXPORTER.rpartition(".")
    package = importlib.import_module(package_name)  # its __init__ is a docstring: nothing heavy
    from opentelemetry.sdk.trace.export import SpanExporter  # chromadb and langsmith import it anyway

    stand_in = types.ModuleType(TRACE_EXPORTER, "Stand-in until an exporter is built (agent.memory.chroma).")
    stand_in.__spec__ = importlib.machinery.ModuleSpec(TRACE_EXPORTER, None)

    class OTLPSpanExporter(SpanExporter):  # a SpanExporter, as OpenTelemetry's configuration checks
        def __new__(cls, *args: Any, **kwargs: Any) -> Any:
            return _real_trace_exporter().OTLPSpanExporter(*args, **kwargs)

    def any_other_name(name: str) -> Any:
        if name.startswith("__"):  # the import system's own questions (`__path__`…): not a use of it
            raise AttributeError(name)
        return getattr(_real_trace_exporter(), name)

    vars(stand_in).update(OBSERVER_STAND_IN=True, OTLPSpanExporter=OTLPSpanExporter, __getattr__=any_other_name)
    sys.modules[TRACE_EXPORTER] = stand_in
    setattr(package, leaf, stand_in)


def open_chroma(data_dir: Path, url: str | None = None) -> Any:
    """A persistent client in the data dir, or an HTTP client for a Chroma server. Telemetry off."""
    defer_chromas_trace_exporter()
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


class LazyChroma:
    """A Chroma client opened on first use (thread-safe). A server (`url`) is opened at once: reaching it
    at start is how a wrong URL is reported before the first member's question."""

    def __init__(self, data_dir: Path, url: str | None = None) -> None:
        self._data_dir = data_dir
        self._url = url
        self._client: Any = None
        self._lock = threading.Lock()
        if url:
            self._client = open_chroma(data_dir, url)

    @classmethod
    def wrapping(cls, client: Any) -> LazyChroma:
        """An already open client (tests, `observer memory` commands) behind the same interface."""
        lazy = cls(Path())
        lazy._client = client
        return lazy

    @property
    def opened(self) -> bool:
        return self._client is not None

    @property
    def client(self) -> Any:
        """The chromadb client, opened now if it was not (blocking: run it off the event loop)."""
        with self._lock:
            if self._client is None:
                self._client = open_chroma(self._data_dir, self._url)
            return self._client

    def names(self) -> list[str]:
        """Blocking: every collection's name. While the client is closed, read from Chroma's file without
        opening it (none when the folder was never written); if that file cannot be read as expected
        (another Chroma version's layout), the client is opened and asked."""
        if self._client is None:
            peeked = peek_names(self._data_dir / "chroma")
            if peeked is not None:
                return peeked
        return [c if isinstance(c, str) else c.name for c in self.client.list_collections()]


def peek_names(folder: Path) -> list[str] | None:
    """The collection names in a persistent Chroma folder, read-only; [] when it holds no store yet,
    None when the catalogue is there but unreadable as expected."""
    path = folder / CHROMA_FILE
    if not path.exists():
        return []
    try:
        with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=5)) as db:
            return [str(row[0]) for row in db.execute("SELECT name FROM collections")]
    except sqlite3.Error:
        return None
