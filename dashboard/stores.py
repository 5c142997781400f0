"""The bot's memory (Chroma, the embedder) and persona catalogue, for the Knowledge page: opened the
first time that page needs them, so a dashboard nobody uses for knowledge never loads an embedding
model. A store the settings cannot open (another embedder wrote it, no key) is said on the page."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from agent.memory.chroma import LazyChroma
from agent.memory.embeddings import Embedder
from agent.memory.knowledge import MemoryStore
from agent.memory.persona_files import FileLimits
from agent.memory.personas import PersonaCatalog
from agent.settings import Settings


@dataclass(frozen=True)
class KnowledgeStores:
    memory: MemoryStore
    personas: PersonaCatalog
    limits: FileLimits


class LazyKnowledge:
    def __init__(self, settings: Settings, engine: AsyncEngine, embedder: Embedder | None = None) -> None:
        self._settings = settings
        self._engine = engine
        self._embedder = embedder  # the bot's own, when beside it (tests); else made from the settings
        self._stores: KnowledgeStores | None = None
        self._lock = asyncio.Lock()

    async def stores(self) -> KnowledgeStores:
        """The stores, opened now if they were not (ConfigError when the settings cannot open them)."""
        async with self._lock:
            if self._stores is None:
                self._stores = await asyncio.to_thread(self._open)
            return self._stores

    def _open(self) -> KnowledgeStores:
        from agent.services import make_embedder  # the bot's whole set of services is not needed here

        settings = self._settings
        embedder = self._embedder or make_embedder(settings)
        memory = MemoryStore(LazyChroma(settings.data_dir, settings.chroma_url), embedder)
        return KnowledgeStores(memory, PersonaCatalog(self._engine), FileLimits.from_settings(settings))
