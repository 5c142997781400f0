"""`!chat Hello! How are you?` through the console, as a member of an older prefix-command bot types it."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import models_toml
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.integration.test_cli import observer


async def test_a_prefix_command_is_answered_and_the_model_never_reads_the_prefix(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    (tmp_path / "observer.toml").write_text(models_toml(fake_openai.base_url))
    fake_openai.push(Reply("I'm well, thanks!"))
    code, out, err = await observer(tmp_path, "chat", "--once", "!chat Hello! How are you?", "--author", "alice")
    assert code == 0, err
    assert out.strip() == "Observer: I'm well, thanks!"
    assert fake_openai.requests[-1]["messages"][-1]["content"] == "Hello! How are you?"
    # The next question sees the earlier one in its history without the prefix too.
    fake_openai.push(Reply("Noon."))
    code, out, err = await observer(tmp_path, "chat", "--once", "!ask what time is lunch?", "--author", "alice")
    assert code == 0 and out.strip() == "Observer: Noon.", err
    contents = [str(m["content"]) for m in fake_openai.requests[-1]["messages"]]
    assert "Hello! How are you?" in contents  # alice alone with the bot: no name label
    assert contents[-1] == "what time is lunch?"
    assert not any("!chat" in c or "!ask" in c for c in contents)


async def test_prefixes_are_configurable_and_others_are_not_addressing(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    toml = 'prefixes = ["?bot"]\n' + models_toml(fake_openai.base_url)
    (tmp_path / "observer.toml").write_text(toml)
    code, out, _ = await observer(tmp_path, "chat", "--once", "!chat hello")
    assert code == 0 and out.strip() == "(no reply: not addressed, judge skipped)"
    fake_openai.push(Reply("Hi!"))
    code, out, err = await observer(tmp_path, "chat", "--once", "?bot hello")
    assert code == 0 and out.strip() == "Observer: Hi!", err
    assert fake_openai.requests[-1]["messages"][-1]["content"] == "hello"
