"""Shared fixtures: real SQLite/PostgreSQL, real Chroma and embeddings, the fake model server."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from agent.events import Event
from agent.ids import new_snowflake, stable_id
from agent.memory.embeddings import LocalE5Embedder
from agent.rights import MemberRights
from agent.services import Services, build_services
from agent.settings import Settings
from agent.state import Context
from agent.stream import StateUpdate, Token, reply_events
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.openai_server import FakeOpenAI

POSTGRES_URL = os.environ.get("OBSERVER_TEST_POSTGRES_URL")
DB_BACKENDS = ["sqlite"] + (["postgres"] if POSTGRES_URL else [])


@pytest.fixture
async def discord(request: pytest.FixtureRequest) -> AsyncIterator[FakeDiscord]:
    """The fake Discord on loopback; a test module that sets `SHARDS = n` gets a gateway of n shards."""
    fake = FakeDiscord(shard_count=getattr(request.module, "SHARDS", 1))
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture(scope="session")
def embedder() -> LocalE5Embedder:
    return LocalE5Embedder()


async def reset_postgres(url: str) -> None:
    import asyncpg

    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()


@pytest.fixture(params=DB_BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        assert POSTGRES_URL
        await reset_postgres(POSTGRES_URL)
        return POSTGRES_URL
    return f"sqlite+aiosqlite:///{tmp_path / 'observer.db'}"


@pytest.fixture
async def fake_openai() -> AsyncIterator[FakeOpenAI]:
    server = FakeOpenAI()
    await server.start()
    yield server
    await server.stop()


def models_toml(
    base_url: str,
    names: tuple[str, ...] = ("chat",),
    *,
    timeout_s: float = 600,
    max_output_tokens: int = 256,
    context_window: int = 4096,
    tools: bool = False,
    **top: str,
) -> str:
    """A model list on the fake server. The timeout is generous: a slow, busy machine must not trip it;
    tests of hanging servers pass a short one with a hang far longer."""
    lines = [f'{k} = "{v}"' for k, v in top.items()]
    for i, name in enumerate(names):
        lines += [
            "[[models]]",
            f'name = "{name}"',
            f'model = "fake-{name}"',
            f'base_url = "{base_url}"',
            f"context_window = {context_window}",
            f"max_output_tokens = {max_output_tokens}",
            f"cost_per_1k_input = {0.001 * (i + 1)}",
            f"cost_per_1k_output = {0.002 * (i + 1)}",
            f'about = "model {name}"',
            f"timeout_s = {timeout_s:g}",
        ]
        if tools:
            lines.append("tools = true")
    return "\n".join(lines) + "\n"


async def make_services(
    tmp_path: Path, database_url: str, embedder: LocalE5Embedder, toml: str | None, **overrides: object
) -> Services:
    """Services on real storage. Tests do not wait for cooldowns unless they ask to (max_busy_wait_seconds)."""
    config = None
    if toml is not None:
        config = tmp_path / "observer.toml"
        config.write_text(toml, encoding="utf-8")
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path / "data",
        config=config,
        database_url=database_url,
        **{"max_busy_wait_seconds": 0.0, **overrides},
    )
    return await build_services(settings, embedder=embedder)


@pytest.fixture
async def services(
    tmp_path: Path, database_url: str, embedder: LocalE5Embedder, fake_openai: FakeOpenAI
) -> AsyncIterator[Services]:
    svc = await make_services(tmp_path, database_url, embedder, models_toml(fake_openai.base_url))
    yield svc
    await svc.close()


_NUMBERS = dict(enumerate("zero one two three four five six seven eight nine ten eleven twelve".split()))


def words(text: str) -> set[str]:
    """The Latin-script words of a text, lower case, numbers as words ("9" is "nine": Whisper writes
    either): to compare what was said with what was heard."""
    text = re.sub(r"\b(\d{1,2})\b", lambda m: _NUMBERS.get(int(m.group(1)), m.group(1)), text.lower())
    return set(re.findall(r"[a-z]+", text))


def make_event(text: str, author: str = "alice", channel: str = "general", **kw: Any) -> Event:
    """A message as the console's operator types it (operator rights) unless `rights` says otherwise."""
    values: dict[str, Any] = {
        "rights": MemberRights.of_operator(),
        "message_id": new_snowflake(),
        "guild_id": stable_id("guild", "test"),
        "guild_name": "test",
        "channel_id": stable_id("channel", channel),
        "channel_name": channel,
        "author_id": stable_id("user", author),
        "author_name": author,
        "text": text,
    }
    values.update(kw)
    return Event(**values)


_last_graph: list[tuple[Services, Any]] = []


def reply_graph(services: Services) -> Any:
    """The reply graph wired to these services (built once per set, as a door does at start)."""
    from graphs.reply import build

    if not _last_graph or _last_graph[0][0] is not services:
        _last_graph[:] = [(services, build(services))]
    return _last_graph[0][1]


async def run_graph(
    services: Services, event: Event, context: Context | None = None
) -> tuple[list[str], dict[str, Any]]:
    """Run the reply graph as a door does; returns the streamed tokens and the final state."""
    graph = reply_graph(services)

    tokens: list[str] = []
    final: dict[str, Any] = {}
    stream = graph.astream({"event": event}, context=context or Context(), stream_mode=["custom", "values"])
    async for item in reply_events(stream):
        if isinstance(item, Token):
            tokens.append(item.text)
        elif isinstance(item, StateUpdate):
            final = item.state
    return tokens, final
