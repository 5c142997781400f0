"""Opening Chroma: files in the data dir, or a Chroma server when OBSERVER_CHROMA_URL is set."""

from __future__ import annotations

from pathlib import Path
from typing import Any


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
