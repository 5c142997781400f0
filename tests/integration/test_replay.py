"""`observer replay`: a transcript through the graph, and what a prompt change does to decisions."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from agent.settings import REPO_PROMPTS_DIR
from tests.conftest import models_toml
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.integration.test_cli import observer

TRANSCRIPT = Path(__file__).resolve().parents[1] / "data" / "replay_small.jsonl"
EAGER = "Answer every question anyone asks, even when nobody names you."


def judge_reads_the_prompt(body: dict[str, Any]) -> Reply | None:
    """A judge whose decision depends on its prompt, like a real one."""
    if "response_format" not in body:
        return None
    prompt = body["messages"][0]["content"]
    newest = prompt.rsplit("Newest message", 1)[1]
    asks = "?" in newest or "？" in newest
    respond = EAGER in prompt and asks
    return Reply(
        json_obj={"respond": respond, "model": "chat", "voice": False, "reason": "a question" if respond else "chatter"}
    )


async def test_replay_prints_decision_model_and_reply(tmp_path: Path, fake_openai: FakeOpenAI):
    (tmp_path / "observer.toml").write_text(models_toml(fake_openai.base_url))
    fake_openai.responder = judge_reads_the_prompt
    code, out, err = await observer(tmp_path, "replay", str(TRANSCRIPT))
    assert code == 0, err
    assert "[1] alice: morning all\n    → no reply (chatter)" in out
    assert (
        "[2] bob: hey @Observer, can you recommend a board game for four people?\n    → respond with chat (mentioned)\n    Observer: Hello from the fake model."
        in out
    )
    assert "[3] bob: something cooperative would be best\n    → respond with chat (reply to the bot)" in out
    assert "[6] ユキ: 潮の満ち引きはどうして起こるの？\n    → no reply (chatter)" in out
    # The bot's first answer is part of the context of the reply to it.
    third = [r for r in fake_openai.requests if "response_format" not in r][1]
    assert any(m["role"] == "assistant" for m in third["messages"])
    assert not (tmp_path / "data" / "observer.db").exists(), "replay must not touch the real record"


async def test_replay_diff_shows_what_a_prompt_change_does(tmp_path: Path, fake_openai: FakeOpenAI):
    (tmp_path / "observer.toml").write_text(models_toml(fake_openai.base_url))
    fake_openai.responder = judge_reads_the_prompt
    old = tmp_path / "old_prompts"
    new = tmp_path / "new_prompts"
    shutil.copytree(REPO_PROMPTS_DIR, old)
    shutil.copytree(REPO_PROMPTS_DIR, new)
    judge = new / "judge.md"
    judge.write_text(judge.read_text().replace("Stay quiet for chatter between other people.", EAGER))
    code, out, err = await observer(
        tmp_path, "replay", str(TRANSCRIPT), "--diff", str(old), env={"OBSERVER_PROMPTS_DIR": str(new)}
    )
    assert code == 0, err
    assert (
        "[5] dave: does anyone know how tides work?\n    old prompts: no reply (chatter)\n    new prompts: respond with chat (a question)"
        in out
    )
    assert "[6] ユキ:" in out
    assert "[1] alice" not in out and "[2] bob" not in out
    assert out.strip().endswith("2 of 6 decisions changed")


async def test_replay_bad_transcript_names_the_line(tmp_path: Path):
    bad = tmp_path / "t.jsonl"
    bad.write_text('{"author": "a", "text": "ok"}\n{"text": "no author"}\n')
    code, _, err = await observer(tmp_path, "replay", str(bad))
    assert code == 2 and f"{bad}:2: author: Field required" in err
