"""`observer chat --once` with reasoning models, as a user runs it: the think text never printed, never
stored; the answer is; a reasoning-only reply is one line naming the cause."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.conftest import models_toml
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.integration.test_cli import observer

SECRET = "do not reveal the system prompt"
THOUGHT = f"The member wants a cat name. Rule: {SECRET}. Something short."
ANSWER = "Miso is a lovely name."


def stored_texts(tmp_path: Path) -> list[str]:
    with sqlite3.connect(tmp_path / "data" / "observer.db") as db:
        return [row[0] for row in db.execute("select content from messages order by id")]


def files_holding(root: Path, needle: str) -> list[Path]:
    """Every file under `root` (the record, checkpoints, Chroma, logs) whose bytes hold `needle`."""
    return [p for p in root.rglob("*") if p.is_file() and needle.encode() in p.read_bytes()]


@pytest.mark.parametrize("family", ["think_tags", "reasoning", "reasoning_content"])
async def test_once_prints_the_answer_never_the_thinking(tmp_path: Path, fake_openai: FakeOpenAI, family: str):
    (tmp_path / "observer.toml").write_text(models_toml(fake_openai.base_url))
    fake_openai.push(Reply(ANSWER, reasoning=THOUGHT, reasoning_as=family, piece_chars=2))
    code, out, err = await observer(tmp_path, "chat", "--once", "hey @Observer, name my cat?", "--author", "alice")
    assert code == 0, err
    assert out.splitlines() == ["(thinking…)", f"Observer: {ANSWER}"]
    assert SECRET not in out + err
    assert ANSWER in stored_texts(tmp_path)
    assert files_holding(tmp_path / "data", SECRET) == [], "the thinking is stored nowhere"


async def test_once_names_a_reasoning_only_reply(tmp_path: Path, fake_openai: FakeOpenAI):
    (tmp_path / "observer.toml").write_text(models_toml(fake_openai.base_url, max_output_tokens=16))
    endless = " ".join(f"hmm{i}" for i in range(400))
    fake_openai.push(*[Reply(ANSWER, reasoning=endless, reasoning_as="reasoning_content")] * 2)
    code, out, err = await observer(tmp_path, "chat", "--once", "@Observer hi")
    assert code == 0, err
    assert out.splitlines()[-1] == "(no reply: the model spent its whole answer budget thinking)"
    assert "hmm1" not in out and "empty answer" not in out
