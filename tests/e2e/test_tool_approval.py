"""A tool call that changes something waits for the asking member's button press (issue H): the real
`observer run` in a subprocess, the real discord.py client, the fake Discord's component interactions,
a real FastMCP server over stdio, and a kill -9 between the question and the approval."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.bot_process import BotProcess
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.mcp import tide_server_toml

REPO = Path(__file__).resolve().parents[2]


def tools_toml(alarms: Path) -> str:
    return tide_server_toml(alarms, confirm=["set_alarm"])


@pytest.fixture
def alarms(tmp_path: Path) -> Path:
    return tmp_path / "alarms.txt"


@pytest.fixture
async def bot(tmp_path: Path, discord: FakeDiscord, fake_openai: FakeOpenAI, alarms: Path) -> AsyncIterator[BotProcess]:
    process = BotProcess(tmp_path, discord, fake_openai, extra_toml=tools_toml(alarms))
    yield process
    await process.stop()


def with_tools(bot: BotProcess) -> None:
    original = bot.models_toml

    def toml() -> str:
        return original().replace("timeout_s = 600", "timeout_s = 600\ntools = true")

    bot.models_toml = toml  # type: ignore[method-assign]


def prompts(bot: BotProcess, question: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in bot.replies_to(question) if m["content"].startswith(("🔐", "✅", "❌", "⌛"))]


def approval_prompt(bot: BotProcess, question: dict[str, Any]) -> dict[str, Any] | None:
    found = prompts(bot, question)
    return found[0] if found else None


def button(prompt: dict[str, Any], label: str) -> str:
    return next(c["custom_id"] for row in prompt["components"] for c in row["components"] if c["label"] == label)


async def test_only_the_asker_can_approve_and_the_approval_survives_kill_9(
    bot: BotProcess, discord: FakeDiscord, fake_openai: FakeOpenAI, alarms: Path
) -> None:
    with_tools(bot)
    await bot.start()
    alice, mallory = discord.add_user("alice"), discord.add_user("mallory")
    fake_openai.push(Reply(tool_calls=[("set_alarm", {"time": "06:00", "label": "tide"})]))
    question = await discord.send_as(alice, f"<@{discord.bot['id']}> wake me at 6 for the tide")
    await bot.wait_until(lambda: approval_prompt(bot, question) is not None, "no approval buttons were posted")
    prompt = approval_prompt(bot, question)
    assert prompt is not None
    assert "set_alarm" in prompt["content"] and "Only alice can answer" in prompt["content"]
    assert not alarms.exists(), "nothing runs before the approval"

    # Someone else presses Approve: refused, privately, and nothing happens.
    token = await discord.click(mallory, prompt, button(prompt, "Approve"))
    await bot.wait_until(lambda: discord.interaction_responses.get(token), "the press was never answered")
    [refusal] = discord.interaction_responses[token]
    assert refusal["data"]["flags"] & 64 and "Only alice can answer" in refusal["data"]["content"]

    # The bot dies before alice answers; the paused run is in the checkpoint, the buttons still work.
    await bot.kill9()
    await bot.start()
    fake_openai.push(Reply("Your alarm is set for 06:00."))
    # The restarted bot resumes the paused run, which asks again (the old buttons work too).
    await bot.wait_until(lambda: len(prompts(bot, question)) == 2, "the paused run was not resumed after restart")
    token = await discord.click(alice, prompt, button(prompt, "Approve"))
    await bot.wait_until(lambda: alarms.exists(), "the approved call never ran")
    assert alarms.read_text() == "06:00 tide\n"
    await bot.wait_until(lambda: bot.answered(question, "Your alarm is set for 06:00."), "no answer after approval")
    updated = discord.messages[prompt["channel_id"]][prompt["id"]]
    assert updated["content"].startswith("✅ Approved by alice") and not updated["components"]
    last = fake_openai.chat_requests()[-1]
    assert [m["content"] for m in last["messages"] if m["role"] == "tool"] == ["alarm set for 06:00"]
    assert await bot.terminate() == 0


async def test_denied_and_timed_out_calls_never_run(
    bot: BotProcess, discord: FakeDiscord, fake_openai: FakeOpenAI, alarms: Path
) -> None:
    with_tools(bot)
    bot.env["OBSERVER_APPROVAL_TIMEOUT_SECONDS"] = "1"
    await bot.start()
    alice = discord.add_user("alice")
    fake_openai.push(Reply(tool_calls=[("set_alarm", {"time": "05:00"})]), Reply("Okay, no alarm."))
    question = await discord.send_as(alice, f"<@{discord.bot['id']}> alarm at 5")
    await bot.wait_until(lambda: bot.answered(question, "Okay, no alarm."), "a timed-out request got no answer")
    assert not alarms.exists()
    last = fake_openai.chat_requests()[-1]
    [result] = [m["content"] for m in last["messages"] if m["role"] == "tool"]
    assert "not run: no answer within 1 s" in result
    [prompt] = prompts(bot, question)
    assert prompt["content"].startswith("⌛ ❌ Denied by timeout") and not prompt["components"]

    # `/observer status` names the tools this member is offered here and the MCP server behind them.
    token = await discord.slash(alice, "observer", [{"type": 1, "name": "status", "options": []}])
    await bot.wait_until(lambda: discord.interaction_responses.get(token), "/observer status got no answer")
    status = discord.interaction_responses[token][0]["data"]["content"]
    assert "tools for you here: search_messages" in status and "set_alarm" in status
    assert "purge_cache" in status, "not admin-only in this configuration"
    assert "MCP tides (stdio): connected" in status
