"""Several Observer processes on one database and one Chroma server, as people run them when they outgrow
one process: real subprocesses, a real Chroma server (`chroma run`), PostgreSQL and SQLite."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from pathlib import Path

import pytest

from tests.conftest import POSTGRES_URL
from tests.fakes.openai_server import FakeOpenAI
from tests.integration.test_cli import observer
from tests.retrieval_eval import DATA
from tests.servers import chroma_server

STARTERS = 4


async def start_together(tmp_path: Path, database_url: str) -> list[tuple[int, str, str]]:
    env = {"OBSERVER_DATABASE_URL": database_url}
    return list(await asyncio.gather(*(observer(tmp_path, "db", "upgrade", env=env) for _ in range(STARTERS))))


async def test_processes_starting_together_on_a_fresh_sqlite_file(tmp_path: Path):
    results = await start_together(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}")
    assert [code for code, _, _ in results] == [0] * STARTERS, [err for _, _, err in results]
    assert all("database at revision" in out for _, out, _ in results)


@pytest.mark.skipif(POSTGRES_URL is None, reason="needs OBSERVER_TEST_POSTGRES_URL")
async def test_processes_starting_together_on_a_fresh_postgres_database(tmp_path: Path):
    import asyncpg

    assert POSTGRES_URL is not None
    admin_dsn = POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://")
    name = f"observer_race_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
        results = await start_together(tmp_path, url)
        assert [code for code, _, _ in results] == [0] * STARTERS, [err for _, _, err in results]
        assert not any("Traceback" in err for _, _, err in results)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def persona_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "teahouse"
    shutil.copytree(DATA, folder, ignore=shutil.ignore_patterns("queries.jsonl"))
    return folder


async def test_a_shared_chroma_server_is_never_wiped_by_another_embedder(tmp_path: Path, fake_openai: FakeOpenAI):
    with chroma_server(tmp_path / "chroma-data", tmp_path) as chroma_url:
        base = {"OBSERVER_CHROMA_URL": chroma_url}
        # Process A: the bundled embedder, fills memory.
        code, out, err = await observer(tmp_path, "persona", "ingest", str(persona_folder(tmp_path)), env=base)
        assert code == 0, err
        code, before, err = await observer(
            tmp_path, "persona", "search", "who are the moderators?", "--persona", "Mika", env=base
        )
        assert code == 0 and "Moderators are Mika" in before, err

        # Process B: another embedder, even for a read-only listing: refuses with one line, deletes nothing.
        other = {
            **base,
            "OBSERVER_EMBEDDING_PROVIDER": "openai",
            "OBSERVER_EMBEDDING_BASE_URL": fake_openai.base_url,
            "OBSERVER_EMBEDDING_MODEL": "fake-embedding",
        }
        code, out, err = await observer(tmp_path, "persona", "list", env=other)
        assert code == 2 and "Traceback" not in err
        [line] = err.strip().splitlines()
        assert "local:multilingual-e5-small" in line and "fake-embedding" in line
        assert "observer memory migrate" in line
        code, after, err = await observer(
            tmp_path, "persona", "search", "who are the moderators?", "--persona", "Mika", env=base
        )
        # (the first line carries timings)
        assert code == 0 and after.splitlines()[1:] == before.splitlines()[1:], "process A's memory is untouched"

        # Equivalent spellings of one endpoint are one embedder.
        migrated = await observer(tmp_path, "memory", "migrate", env=other)
        assert migrated[0] == 0 and "migrated" in migrated[1], migrated[2]
        port = fake_openai.base_url.split(":")[2].split("/")[0]
        same = {**other, "OBSERVER_EMBEDDING_BASE_URL": f"http://LOCALHOST:{port}/v1/"}
        code, out, err = await observer(tmp_path, "persona", "list", env=same)
        assert code == 0 and "Mika" in out, err


async def test_moving_a_persona_folder_changes_nothing(tmp_path: Path):
    first = persona_folder(tmp_path / "a")
    code, out, err = await observer(tmp_path, "persona", "ingest", str(first))
    assert code == 0 and "0 unchanged" in out, err
    moved = tmp_path / "b" / "teahouse"
    moved.parent.mkdir()
    os.rename(first, moved)
    code, out, err = await observer(tmp_path, "persona", "ingest", str(moved))
    assert code == 0 and "(0 new," in out and "0 removed)" in out, out
    # An edit after the move replaces the old entry instead of keeping it beside.
    card = moved / "mika.toml"
    card.write_text(card.read_text(encoding="utf-8").replace("fat orange tabby", "fat ginger tabby"), encoding="utf-8")
    code, out, err = await observer(tmp_path, "persona", "ingest", str(moved))
    assert code == 0, err
    assert "(1 new," in out and "1 removed)" in out, out
