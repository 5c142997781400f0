"""A reply cut by a bound says so, in the console as on Discord (tests/e2e/test_secrets_and_failures.py),
and the note never becomes part of the model's words in the record."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from agent.memory import tables
from agent.memory.db import create_engine
from tests.conftest import models_toml
from tests.fakes.openai_server import Drip, FakeOpenAI
from tests.integration.test_cli import observer

STORY = " ".join(f"word{i}" for i in range(60))


async def test_a_reply_cut_by_the_length_cap_ends_with_a_note(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.flavour = "unbounded"  # ignores max_tokens: the bot's own count stops it
    fake_openai.default_reply = STORY
    (tmp_path / "observer.toml").write_text(models_toml(fake_openai.base_url, max_output_tokens=8))
    code, out, err = await observer(tmp_path, "chat", "--once", "@Observer tell me a story")
    assert code == 0, err
    assert "Observer: word0 word1" in out and "word20" not in out
    assert "-# (cut: reached the length limit)" in out
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'observer.db'}")
    try:
        async with engine.connect() as conn:
            texts = (await conn.execute(select(tables.messages.c.content))).scalars().all()
        stored = [t for t in texts if t and t.startswith("word0")]
    finally:
        await engine.dispose()
    assert stored and not any("(cut" in t for t in stored)


async def test_a_reply_cut_by_the_time_limit_ends_with_a_note(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.push(Drip(STORY, every_s=0.4))  # a server crawling: one piece every 0.4 s
    toml = models_toml(fake_openai.base_url).replace("timeout_s = 600\n", "timeout_s = 600\nmax_reply_seconds = 1\n")
    (tmp_path / "observer.toml").write_text(toml)
    code, out, err = await observer(tmp_path, "chat", "--once", "@Observer tell me a story")
    assert code == 0, err
    assert "Observer: word0" in out and "word59" not in out
    assert "-# (cut: took longer than 1 s)" in out
