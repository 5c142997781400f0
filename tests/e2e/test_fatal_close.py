"""A gateway close Discord will not take back (4004 bad token … 4014 disallowed intents): the real
`observer run` drains exactly like SIGTERM, prints one line naming the fix, and exits 2; started again,
it answers what was left, once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.bot_process import GUARD_S, BotProcess
from tests.e2e.test_crash_recovery import STORY, mention, states
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.openai_server import FakeOpenAI


@pytest.fixture
async def bot(tmp_path: Path, discord: FakeDiscord, fake_openai: FakeOpenAI) -> AsyncIterator[BotProcess]:
    fake_openai.default_reply = STORY
    process = BotProcess(tmp_path, discord, fake_openai)
    yield process
    await process.stop()


def fix_lines(bot: BotProcess) -> list[str]:
    """The lines the command line itself printed (`observer: …`), as opposed to log lines."""
    return [line for line in bot.logs().splitlines() if line.startswith("observer: ")]


async def exit_code(bot: BotProcess) -> int:
    assert bot.proc is not None
    return await asyncio.wait_for(bot.proc.wait(), GUARD_S)


async def test_sharding_required_mid_reply_drains_names_the_fix_and_the_next_start_answers_once(
    tmp_path: Path, bot: BotProcess, discord: FakeDiscord, fake_openai: FakeOpenAI
):
    fake_openai.token_delay_s = 0.1
    await bot.start()
    streaming = await discord.send_as(discord.add_user("alice"), mention(discord, "tell me a story"))
    await bot.wait_until(lambda: bot.streaming(streaming), "the answer never started streaming")
    behind = await discord.send_as(discord.add_user("bob"), mention(discord, "and one for me"))

    discord.refuse_identify = 4011  # Discord keeps refusing until the bot starts again with more shards
    await discord.close_shard(0, 4011)

    assert await exit_code(bot) == 2
    logs = bot.logs()
    assert "Traceback" not in logs
    assert "closed database" not in logs and "Session is closed" not in logs
    assert len(fix_lines(bot)) == 1, fix_lines(bot)
    assert "4011" in fix_lines(bot)[0] and "start Observer again" in fix_lines(bot)[0]
    assert bot.answered(streaming, STORY), "the reply on screen was finished before the process stopped"
    left = (await states(tmp_path, behind))[0]
    assert left in ("waiting", "answering", "answered"), left

    discord.refuse_identify = None
    await bot.start()
    await bot.wait_until(lambda: bot.answered(behind, STORY), "the question left behind was never answered")
    await bot.wait_until(lambda: all(bot.answered(q) for q in (streaming, behind)))
    assert [len(bot.replies_to(q)) for q in (streaming, behind)] == [1, 1], "each question is answered once"
    assert await bot.terminate() == 0
    assert await states(tmp_path, streaming, behind) == ["answered", "answered"]


@pytest.mark.parametrize(
    ("code", "fix"),
    [
        (4004, "check DISCORD_TOKEN"),
        (4014, "enable the Message Content intent"),
        (4013, "upgrade Observer"),
    ],
)
async def test_each_fatal_close_code_exits_2_with_one_line_naming_its_fix(
    bot: BotProcess, discord: FakeDiscord, code: int, fix: str
):
    await bot.start()
    discord.refuse_identify = code
    await discord.close_shard(0, code)
    assert await exit_code(bot) == 2
    assert "Traceback" not in bot.logs()
    lines = fix_lines(bot)
    assert len(lines) == 1 and f"close code {code}" in lines[0] and fix in lines[0], lines
    assert "fake-token" not in bot.logs()
