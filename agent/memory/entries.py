"""A memory entry as Chroma stores it, and the collection it lives in."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agent.memory.embeddings import Embedder

COLLECTION_PREFIX = "memory_"
SEP = "\x1f"

Progress = Callable[[int, int], None]


def collection_prefix(embedder: Embedder) -> str:
    return COLLECTION_PREFIX + hashlib.sha256(embedder.name.encode()).hexdigest()[:12] + "_"


def collection_name(embedder: Embedder, scope: str) -> str:
    return collection_prefix(embedder) + re.sub(r"[^a-zA-Z0-9]", "_", scope)


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
    # Lore: its World Info activation rule as JSON (world_info/rules.py); "" for keyword-only lore.
    rule: str = ""
    # Lore attached to one channel ("<id>"); "" for the whole scope.
    channel: str = ""

    @property
    def id(self) -> str:
        parts = [self.kind, self.scope, self.persona, self.source, *self.keywords, self.embed_text, self.text]
        if self.rule or self.channel:  # entries stored before rules existed keep their ids
            parts += [self.rule, self.channel]
        key = SEP.join(parts)
        return hashlib.sha256(key.encode()).hexdigest()[:32]

    def metadata(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "scope": self.scope,
            "persona": self.persona,
            "source": self.source,
            "keywords": SEP.join(k.lower() for k in self.keywords),
            "embedded": self.embed_text,
            "rule": self.rule,
            "channel": self.channel,
        }
