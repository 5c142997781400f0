"""What a scope holds, as `/dataset list` and the dashboard's Knowledge page list it: documents (by
upload or file, with their chunk counts) and World Info lore entries. Blocking (Chroma): call from a
worker thread."""

from __future__ import annotations

from dataclasses import dataclass

from agent.memory.entries import SEP
from agent.memory.knowledge import MemoryStore
from agent.memory.uploads import LABEL_PREFIX


@dataclass(frozen=True)
class Document:
    source: str  # the uploaded file's name, or the ingested file's path inside its folder
    chunks: int


@dataclass(frozen=True)
class Lore:
    source: str
    persona: str  # "" for every persona
    keywords: tuple[str, ...]
    text: str


def shown_source(source: str) -> str:
    """A source as people named it: an upload's file name without the label's prefix."""
    return source.removeprefix(LABEL_PREFIX)


def documents(memory: MemoryStore, scope: str) -> list[Document]:
    counts: dict[str, int] = {}
    for _text, meta in memory.entries(scope, {"kind": "knowledge"}):
        source = shown_source(str(meta.get("source", "")))
        counts[source] = counts.get(source, 0) + 1
    return [Document(source, n) for source, n in sorted(counts.items())]


def lore(memory: MemoryStore, scope: str) -> list[Lore]:
    found = [
        Lore(
            source=shown_source(str(meta.get("source", ""))),
            persona=str(meta.get("persona", "")),
            keywords=tuple(k for k in str(meta.get("keywords", "")).split(SEP) if k),
            text=text,
        )
        for text, meta in memory.entries(scope, {"kind": "lore"})
    ]
    return sorted(found, key=lambda entry: (entry.source, entry.persona, entry.keywords, entry.text))
