"""What a member, the log and the record see when a model server fails: a 401 that echoes the key, a
context overflow in each server family's words, a message too long for every model, a capped reply."""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import String, Text, select

from agent.member_texts import FAILURE_TEXTS, could_not_answer
from agent.memory import tables
from agent.redact import RedactingFilter
from agent.services import Services
from agent.state import Context
from tests.conftest import make_event, make_services, models_toml, run_graph
from tests.fakes.openai_server import FakeOpenAI

KEY = "sk-live-Qm9ic2VjcmV0S2V5VGhhdE11c3ROZXZlckxlYWs"


def keyed_toml(base_url: str, **kw: Any) -> str:
    return models_toml(base_url, **kw).replace("[[models]]\n", '[[models]]\napi_key_env = "FAKE_MODEL_KEY"\n')


async def text_in_record(services: Services, needle: str) -> list[str]:
    """Every text column of every table, searched for `needle`: where it was stored, if anywhere."""
    found = []
    async with services.record.engine.connect() as conn:
        for table in tables.Base.metadata.sorted_tables:
            for column in table.columns:
                if isinstance(column.type, String | Text) or "JSON" in type(column.type).__name__:
                    rows = (await conn.execute(select(column))).scalars().all()
                    found += [f"{table.name}.{column.name}" for value in rows if needle in str(value)]
    return found


@pytest.fixture
def log_text() -> Any:
    """What a handler configured as the bot's own (with the redacting filter) writes."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    old = root.level
    root.setLevel(logging.INFO)
    yield buffer.getvalue
    root.removeHandler(handler)
    root.setLevel(old)


async def test_a_401_echoing_the_key_reaches_no_member_log_or_record(
    tmp_path: Path, embedder: Any, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, log_text: Any
) -> None:
    monkeypatch.setenv("FAKE_MODEL_KEY", KEY)
    fake_openai.reject_keys = True
    services = await make_services(
        tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'o.db'}", embedder, keyed_toml(fake_openai.base_url)
    )
    try:
        tokens, state = await run_graph(services, make_event("@Observer hi, what's up?", mentions_bot=True))
        await services.record.flush()
        assert fake_openai.requests, state
        said = "".join(tokens) + state.get("reply", "")
        assert KEY not in said and "Bearer" not in said
        assert state["failure"] == "misconfigured"
        assert could_not_answer(state["failure"]) == FAILURE_TEXTS["misconfigured"]  # what a door posts
        assert KEY not in state["error"] and "401" in state["error"]  # the operator still learns what happened
        assert await text_in_record(services, KEY) == []
        assert await text_in_record(services, KEY[8:30]) == []  # not even a piece of it
        assert "401" in log_text() and KEY not in log_text() and KEY[8:30] not in log_text()
        assert await services.router.cooling() == {}  # a client error: the model does not cool down
    finally:
        await services.close()


FAMILIES = [
    ("openai", False),
    ("vllm", False),
    ("vllm", True),  # says no number: /v1/models tells max_model_len
    ("llamacpp", False),
    ("llamacpp", True),  # older wording with no number: /props tells n_ctx
    ("ollama", True),  # /api/show tells num_ctx
    ("ollama", False),  # nothing tells: the window is guessed smaller until it fits
    ("lmstudio", False),
]


@pytest.mark.parametrize(("family", "report"), FAMILIES)
async def test_a_context_overflow_trims_the_history_and_the_channel_stays_answered(
    tmp_path: Path, embedder: Any, fake_openai: FakeOpenAI, family: str, report: bool
) -> None:
    fake_openai.context_window, fake_openai.overflow_family, fake_openai.report_window = 2048, family, report
    services = await make_services(
        tmp_path,
        f"sqlite+aiosqlite:///{tmp_path / 'o.db'}",
        embedder,
        models_toml(fake_openai.base_url, context_window=8192),
    )
    try:
        for i in range(20):  # a long-running channel: its window of history overflows the real context
            await services.record.store_event(make_event(f"line {i}: " + "words " * 100, author=f"m{i % 3}"))
        await services.record.flush()
        long = "@Observer please read this: " + "the quick brown fox jumps over the lazy dog " * 53  # ~2,400 chars
        tokens, state = await run_graph(services, make_event(long, author="alice", mentions_bot=True))
        assert fake_openai.overflows >= 1
        assert state.get("error") is None, state.get("error")
        assert state["reply"] == fake_openai.default_reply
        sent = fake_openai.requests[-1]["messages"][-1]["content"]
        assert "lazy dog" in sent and "…" not in sent  # the member's own message was kept whole
        learned = services.registry.spec("chat").context_window
        # Where the server names or shows its window, that is it; where nothing tells, a smaller guess.
        assert learned == 2048 if (report or family != "ollama") else learned < 8192
        assert await services.router.cooling() == {}
        # A second member right after: answered at once, fitted from the start, nobody told "busy".
        before = fake_openai.overflows
        tokens, state = await run_graph(
            services, make_event("@Observer and me? " + "hello " * 200, author="bob", mentions_bot=True)
        )
        assert state["reply"] == fake_openai.default_reply and fake_openai.overflows == before
        assert "busy" not in "".join(tokens).lower()
    finally:
        await services.close()


async def test_a_message_too_long_for_every_model_gets_one_line_and_nothing_cools(
    tmp_path: Path, embedder: Any, fake_openai: FakeOpenAI
) -> None:
    fake_openai.context_window = 2048
    services = await make_services(
        tmp_path,
        f"sqlite+aiosqlite:///{tmp_path / 'o.db'}",
        embedder,
        models_toml(fake_openai.base_url, ("chat", "spare"), context_window=8192),
    )
    try:
        huge = "@Observer " + "an enormous paste of a log file line " * 330  # ~12,000 characters
        tokens, state = await run_graph(services, make_event(huge, mentions_bot=True))
        assert state["failure"] == "too_long"
        assert "".join(tokens) == state["reply"] == "" and len(fake_openai.requests) <= 4
        assert await services.router.cooling() == {}
        overflows = fake_openai.overflows
        _, state = await run_graph(services, make_event("@Observer short one", author="bob", mentions_bot=True))
        assert state["reply"] == fake_openai.default_reply and fake_openai.overflows == overflows
    finally:
        await services.close()


async def test_a_server_error_is_busy_and_a_bad_request_is_not(
    tmp_path: Path, embedder: Any, fake_openai: FakeOpenAI
) -> None:
    from tests.fakes.openai_server import Fail

    services = await make_services(
        tmp_path,
        f"sqlite+aiosqlite:///{tmp_path / 'o.db'}",
        embedder,
        models_toml(fake_openai.base_url),
        model_retries=0,
    )
    try:
        fake_openai.push(Fail(400, message="unsupported parameter: logit_bias"))
        _, state = await run_graph(services, make_event("@Observer one", mentions_bot=True), Context(model="chat"))
        assert state["failure"] == "refused" and "logit_bias" in state["error"]
        assert await services.router.cooling() == {}
        fake_openai.push(Fail(503, message="overloaded"))
        _, state = await run_graph(services, make_event("@Observer two", mentions_bot=True), Context(model="chat"))
        assert state["failure"] == "busy"
        assert "chat" in await services.router.cooling()
    finally:
        await services.close()
