"""Start-up faults as a user meets them: `observer chat --once` against a read-only or full data dir,
a locked SQLite file, an unreachable PostgreSQL or Chroma server. Each is one line on stderr, exit 2."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import models_toml
from tests.fakes.openai_server import FakeOpenAI
from tests.integration.test_cli import observer, read_until, start_observer
from tests.servers import bin_path, free_port, running


@contextlib.contextmanager
def tmpfs(path: Path, options: str) -> Iterator[Path]:
    """A real small file system (read-only, or one that fills up); skipped where mounting is not allowed."""
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill(path: Path) -> None:
    with contextlib.suppress(OSError), open(path, "wb") as filler:
        while True:
            filler.write(b"x" * 4096)
            filler.flush()


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


async def test_read_only_data_dir_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "observer.toml").write_text(models_toml("http://127.0.0.1:9/v1"))
    with tmpfs(tmp_path / "data", "ro,size=1m"):
        code, out, err = await observer(tmp_path, "chat", "--once", "@Observer hi")
    assert code == 2 and out == ""
    line = one_line(err)
    assert "OBSERVER_DATA_DIR" in line and "not writable" in line and "writable folder" in line


async def test_full_disk_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "observer.toml").write_text(models_toml("http://127.0.0.1:9/v1"))
    with tmpfs(tmp_path / "data", "size=64k") as data:
        fill(data / "filler")
        code, out, err = await observer(tmp_path, "chat", "--once", "@Observer hi")
    assert code == 2 and out == ""
    line = one_line(err)
    assert "is full" in line and "free some space" in line


async def test_locked_database_is_one_line_after_a_bounded_wait(tmp_path: Path) -> None:
    (tmp_path / "observer.toml").write_text(models_toml("http://127.0.0.1:9/v1"))
    code, _, err = await observer(tmp_path, "db", "upgrade")
    assert code == 0, err
    holder = sqlite3.connect(tmp_path / "data" / "observer.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another writer holds the file
    try:
        code, out, err = await observer(
            tmp_path, "chat", "--once", "@Observer hi", env={"OBSERVER_START_LOCK_WAIT_SECONDS": "1"}
        )
    finally:
        holder.rollback()
        holder.close()
    assert code == 2 and out == ""
    line = one_line(err)
    assert "is locked by another process" in line and "OBSERVER_DATABASE_URL" in line


async def test_unreachable_postgres_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "observer.toml").write_text(models_toml("http://127.0.0.1:9/v1"))
    url = f"postgresql+asyncpg://postgres:hunter2secret@127.0.0.1:{free_port()}/observer"
    code, out, err = await observer(tmp_path, "chat", "--once", "@Observer hi", env={"OBSERVER_DATABASE_URL": url})
    assert code == 2 and out == ""
    line = one_line(err)
    assert "OBSERVER_DATABASE_URL" in line and "cannot reach" in line
    assert "hunter2secret" not in err


async def test_unreachable_chroma_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "observer.toml").write_text(models_toml("http://127.0.0.1:9/v1"))
    url = f"http://127.0.0.1:{free_port()}"
    code, out, err = await observer(tmp_path, "chat", "--once", "@Observer hi", env={"OBSERVER_CHROMA_URL": url})
    assert code == 2 and out == ""
    line = one_line(err)
    assert "OBSERVER_CHROMA_URL" in line and "cannot reach the Chroma server" in line


@pytest.mark.local_model
async def test_a_damaged_chroma_store_is_one_line_even_while_the_bundled_model_loads(tmp_path: Path) -> None:
    """Found by a tester: with memory damaged, the start failed while the bundled model was loading in
    its thread, and the process died at exit without a word (exit 1)."""
    doc = tmp_path / "town.md"
    doc.write_text("# Harborlight\n\nThe mayor of Harborlight is Ana Kowalski.\n", encoding="utf-8")
    code, _, err = await observer(tmp_path, "persona", "ingest", str(doc))
    assert code == 0, err
    store = tmp_path / "data" / "chroma" / "chroma.sqlite3"
    data = bytearray(store.read_bytes())
    data[4096 : 4096 + 100_000] = b"\xa5" * min(100_000, max(len(data) - 4096, 0))
    store.write_bytes(bytes(data))
    code, out, err = await observer(tmp_path, "chat", "--once", "@Observer who is the mayor?")
    assert code == 2 and out == ""
    line = one_line(err)
    assert "Chroma's store" in line and "is damaged" in line and "observer persona ingest" in line


async def test_chroma_gone_mid_session_is_one_line_and_the_console_goes_on(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    """Found by a tester: a Chroma server stopped while the console ran ended it with a traceback, and the
    messages typed after were never handled."""
    (tmp_path / "observer.toml").write_text(models_toml(fake_openai.base_url))
    facts = tmp_path / "facts"
    facts.mkdir()
    (facts / "cat.md").write_text("The office cat is called Pepper.\n", encoding="utf-8")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        bin_path("chroma"),
        "run",
        "--path",
        str(tmp_path / "chroma"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    with running(command, f"{url}/api/v2/heartbeat", tmp_path / "chroma.log", {"ANONYMIZED_TELEMETRY": "False"}):
        code, _, err = await observer(tmp_path, "persona", "ingest", str(facts), env={"OBSERVER_CHROMA_URL": url})
        assert code == 0, err
        console = await start_observer(tmp_path, "chat", env={"OBSERVER_CHROMA_URL": url})
        assert console.stdin is not None
        console.stdin.write(b"@Observer what is the cat called?\n")
        await console.stdin.drain()
        await read_until(console, b"Nice to meet you!")  # the whole first answer
    # Chroma is stopped now; two more messages, then quit.
    out, err_bytes = await asyncio.wait_for(
        console.communicate(b"@Observer still there?\n@Observer and now?\n/quit\n"), timeout=300
    )
    text, err = out.decode(), err_bytes.decode()
    assert console.returncode == 0, err
    assert "Traceback" not in text + err
    assert text.count("(no reply: a service it needs is unreachable") == 2, text


async def test_a_local_model_file_that_is_not_gguf_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    """Found by a tester: the background load's failure printed a thread's traceback before the reply
    said the model failed."""
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(os.urandom(4096))
    (tmp_path / "observer.toml").write_text(
        f'[[models]]\nname = "local"\nprovider = "local"\nmodel = "{junk}"\n', encoding="utf-8"
    )
    code, out, err = await observer(tmp_path, "chat", "--once", "@Observer hi")
    assert "Traceback" not in err and "Exception in thread" not in err, err
    assert "junk.gguf" in err and "not loaded at start" in err, err
    assert "(no reply: model 'local' failed" in out, out
