"""The real bundled model (Qwen2.5-Coder-0.5B-Instruct) through llama.cpp: tokens stream, usage is
recorded, the judge parses, and a newcomer's first question in Japanese is answered."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agent.models.japanese_script import foreign_han
from agent.state import Context
from tests.conftest import make_event, make_services, run_graph

pytestmark = pytest.mark.local_model


@pytest.fixture
async def local_services(tmp_path: Path, embedder):
    # auto_every_n=1: the judge looks at every message here (the cadence rule has its own tests).
    svc = await make_services(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}", embedder, None, auto_every_n=1)
    yield svc
    await svc.close()


async def test_one_short_exchange_streams_tokens_and_records_usage(local_services):
    event = make_event("@Observer what is a good name for a cat?", mentions_bot=True)
    tokens, state = await run_graph(local_services, event)
    assert state["model"] == "local"
    assert len(tokens) >= 2, f"expected a stream, got {tokens!r}"
    assert state["reply"] and await local_services.record.stored_text(state["reply_message_id"]) == state["reply"]
    usage = [u for u in await local_services.record.usage_rows(event.message_id) if u["purpose"] == "reply"]
    assert usage and usage[0]["ok"] and usage[0]["tokens_in"] > 20 and usage[0]["tokens_out"] >= 2


async def test_the_judge_on_the_bundled_model_always_parses(local_services):
    for text in ("lol", "can someone explain how tides work?", "日本語でも大丈夫？"):
        _, state = await run_graph(local_services, make_event(text), Context(channel_mode="auto"))
        decision = state["decision"]
        assert decision.source == "judge", decision.reason
        assert decision.model in (None, "local")


async def test_a_fresh_consoles_first_question_in_japanese_names_tokyo(tmp_path: Path):
    from tests.integration.test_cli import observer

    code, out, err = await observer(tmp_path, "chat", "--once", "@Observer 日本の首都はどこですか？")
    assert code == 0, err
    answer = out.strip()
    assert answer.startswith("Observer: ")
    assert any(name in answer for name in ("東京", "Tokyo", "とうきょう", "トウキョウ")), answer
    # In Japanese characters: the model, trained mostly on Chinese, wrote 东京 before the guard.
    assert not foreign_han(answer), answer
    # What the member reads carries no echoed label or mention.
    assert "@Observer" not in answer and not answer.removeprefix("Observer: ").startswith("Observer")
    # While the model loads in the background, what the console prints still reaches the member
    # (llama-cpp-python's quiet load once pointed the whole process's stdout at /dev/null meanwhile).
    code, out, err = await observer(tmp_path, "chat", "--once", "bob says lol")
    assert code == 0, err
    assert out.strip() == "(no reply: not addressed, judge skipped)"
    assert "llama" not in err.lower() and "metadata" not in err.lower()  # and its load notes stay quiet


async def test_an_english_question_is_answered_in_latin_letters(tmp_path: Path):
    """The bundled model answered "How many days are in a week?" with "В неделю 7 дней." (the persona's
    Russian example nearby) before the script guard."""
    from tests.integration.test_cli import observer

    code, out, err = await observer(tmp_path, "chat", "--once", "@Observer How many days are in a week?")
    assert code == 0, err
    answer = out.strip().removeprefix("Observer: ")
    assert re.search(r"[A-Za-z]", answer), answer
    assert not re.search(r"[\u0400-\u04ff\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af]", answer), answer


async def test_a_bare_ping_is_greeted_not_refused(tmp_path: Path):
    """`@Observer` alone once reached the model as "(sent no text)", and it answered "I'm sorry, but I
    can't assist with that." (or "(No text)")."""
    from tests.integration.test_cli import observer

    code, out, err = await observer(tmp_path, "chat", "--once", "@Observer", "--author", "alice")
    assert code == 0, err
    answer = out.strip().removeprefix("Observer: ").lower()
    assert answer and not any(word in answer for word in ("sorry", "can't", "cannot", "no text")), answer
