"""No lost arrival: the real `observer run` against the fake Discord while its SQLite record is locked
by another process for longer than busy_timeout, or its disk is full. Every question is stored and
answered once the fault clears, also across a `kill -9` and a restart while the fault lasted."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agent.member_texts import RECORD_DELAYED_NOTE
from tests.e2e.bot_process import BotProcess
from tests.e2e.test_crash_recovery import STORY, mention, states
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.openai_server import FakeOpenAI
from tests.faults import can_mount, fill, locked_sqlite, release, small_disk


@pytest.fixture
async def bot(tmp_path: Path, discord: FakeDiscord, fake_openai: FakeOpenAI) -> AsyncIterator[BotProcess]:
    fake_openai.default_reply = STORY
    process = BotProcess(tmp_path, discord, fake_openai)
    # The member hears after 1 s of failed attempts (each one waits out SQLite's 5 s busy_timeout).
    process.env["OBSERVER_RECORD_RETRY_SECONDS"] = "1"
    yield process
    await process.stop()


def told_to_wait(bot: BotProcess, question: dict) -> bool:
    return any(r["content"] == RECORD_DELAYED_NOTE for r in bot.replies_to(question))


async def ask_three(bot: BotProcess, discord: FakeDiscord) -> list[dict]:
    members = [discord.add_user(f"member{i}") for i in range(3)]
    return [await discord.send_as(m, mention(discord, f"question {i}")) for i, m in enumerate(members)]


async def known_channel(bot: BotProcess, discord: FakeDiscord, tmp_path: Path) -> None:
    hello = await discord.send_as(discord.add_user("alice"), "hello everyone")
    while (await states(tmp_path, hello)) == [None]:  # noqa: ASYNC110 - polling another process's database
        await asyncio.sleep(0.05)


async def test_questions_asked_while_another_process_holds_the_record_locked_are_answered_after(
    tmp_path: Path, bot: BotProcess, discord: FakeDiscord
):
    await bot.start()
    await known_channel(bot, discord, tmp_path)
    async with locked_sqlite(tmp_path / "data" / "observer.db") as locker:
        questions = await ask_three(bot, discord)
        await bot.wait_until(lambda: all(told_to_wait(bot, q) for q in questions), "the members were not told")
        assert not any(bot.answered(q, STORY) for q in questions)
        await release(locker)
    await bot.wait_until(lambda: all(bot.answered(q, STORY) for q in questions), "a question was lost to the lock")
    assert [len(bot.replies_to(q)) for q in questions] == [1, 1, 1], "the answer replaced the waiting line"
    assert await bot.terminate() == 0
    assert await states(tmp_path, *questions) == ["answered"] * 3
    assert "Ignoring exception in on_message" not in bot.logs()


async def test_a_kill_9_and_a_restart_while_the_record_is_locked_lose_no_question(
    tmp_path: Path, bot: BotProcess, discord: FakeDiscord
):
    await bot.start()
    await known_channel(bot, discord, tmp_path)
    async with locked_sqlite(tmp_path / "data" / "observer.db") as locker:
        questions = await ask_three(bot, discord)
        await bot.wait_until(lambda: all(told_to_wait(bot, q) for q in questions), "the members were not told")
        await bot.kill9()  # the questions were only in the dead process's memory
        chatter = await discord.send_as(discord.add_user("zed"), "chatter while the bot is down")
        # The new process waits the lock out at start (it would otherwise exit); it is let go meanwhile.
        bot.env["OBSERVER_RECORD_RETRY_SECONDS"] = "600"
        bot.env["OBSERVER_START_LOCK_WAIT_SECONDS"] = "600"
        starting = asyncio.create_task(bot.start())
        start_log = tmp_path / f"bot-{bot.starts + 1}.log"
        waiting = ("default persona failed", "the record is locked by another writer; waiting")
        while not (start_log.exists() and any(line in start_log.read_text() for line in waiting)):
            assert not starting.done(), f"the bot did not wait the lock out at start:\n{bot.logs()[-3000:]}"
            await asyncio.sleep(0.1)
        await release(locker)
        await starting
    await bot.wait_until(lambda: all(bot.answered(q, STORY) for q in questions), "a question was lost to the kill")
    # Each question: the waiting line the first process posted became the answer, never two answers.
    assert [len(bot.replies_to(q)) for q in questions] == [1, 1, 1]
    assert await bot.terminate() == 0
    assert await states(tmp_path, *questions, chatter) == ["answered"] * 3 + ["skipped"]


@pytest.mark.skipif(not can_mount(), reason="mounting a small tmpfs needs root on Linux")
async def test_questions_asked_while_the_disk_is_full_are_answered_once_space_is_freed(
    tmp_path: Path, bot: BotProcess, discord: FakeDiscord
):
    with small_disk(tmp_path / "data", "64m") as disk:
        await bot.start()
        await known_channel(bot, discord, tmp_path)
        filler = fill(disk)
        questions = await ask_three(bot, discord)
        await bot.wait_until(lambda: all(told_to_wait(bot, q) for q in questions), "the members were not told")
        await bot.kill9()  # while the disk is full: the questions were only in the dead process's memory
        filler.unlink()
        await bot.start()
        await bot.wait_until(lambda: all(bot.answered(q, STORY) for q in questions), "a question was lost")
        assert [len(bot.replies_to(q)) for q in questions] == [1, 1, 1]
        assert await bot.terminate() == 0
        assert await states(tmp_path, *questions) == ["answered"] * 3
