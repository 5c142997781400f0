"""Connections that heal: the real `observer run` on PostgreSQL (record and checkpointer) while every
session of its database is terminated, and while the database refuses connections for a while. The
next questions are answered, and those that failed or arrived meanwhile are answered once it is back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agent.member_texts import DEPENDENCY_DOWN_NOTE, FAILED_REPLY, RECORD_DELAYED_NOTE
from agent.memory.db import create_engine
from agent.memory.progress import Progress
from tests.e2e.bot_process import BotProcess
from tests.e2e.test_crash_recovery import STORY, mention
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.openai_server import FakeOpenAI
from tests.pg_faults import PG_URL, come_back, go_down, recreate, terminate_sessions

pytestmark = pytest.mark.skipif(not PG_URL, reason="set OBSERVER_TEST_POSTGRES_URL to a database of its own")


@pytest.fixture
async def bot(tmp_path: Path, discord: FakeDiscord, fake_openai: FakeOpenAI) -> AsyncIterator[BotProcess]:
    await recreate(PG_URL)
    fake_openai.default_reply = STORY
    process = BotProcess(tmp_path, discord, fake_openai)
    process.env.update(OBSERVER_DATABASE_URL=PG_URL, OBSERVER_RECORD_RETRY_SECONDS="2")
    yield process
    await process.stop()
    await come_back(PG_URL)


async def pg_states(*messages: dict) -> list[str | None]:
    engine = create_engine(PG_URL)
    try:
        progress = Progress(engine)
        return [await progress.state(int(m["id"])) for m in messages]
    finally:
        await engine.dispose()


def apologies(bot: BotProcess) -> list[dict]:
    return [m for m in bot.discord.bot_messages() if m["content"] == FAILED_REPLY]


async def test_terminated_sessions_heal_and_questions_failed_during_an_outage_are_answered_after(
    bot: BotProcess, discord: FakeDiscord, fake_openai: FakeOpenAI
):
    await bot.start()
    members = [discord.add_user(f"member{i}") for i in range(7)]
    first = await discord.send_as(members[0], mention(discord, "before the restart"))
    await bot.wait_until(lambda: bot.answered(first, STORY), "no answer at all")

    # A PostgreSQL restart, as the bot sees it: every session cut. The next questions are answered.
    assert await terminate_sessions(PG_URL) > 0
    after = [await discord.send_as(m, mention(discord, f"after the restart {i}")) for i, m in enumerate(members[1:4])]
    await bot.wait_until(lambda: all(bot.answered(q, STORY) for q in after), "the connections did not heal")

    # Now the database goes away mid-answer and stays away while more questions come.
    # Slow enough to be seen half-written even after the answers above have used the channel's budget
    # (4 calls per 5 s): on a fast machine a 7 s answer could reach the screen only finished.
    fake_openai.token_delay_s = 0.5
    interrupted = await discord.send_as(members[4], mention(discord, "answered while the database goes"))
    await bot.wait_until(lambda: bot.streaming(interrupted), "the answer never started")
    await go_down(PG_URL)
    during = [await discord.send_as(m, mention(discord, f"during the outage {i}")) for i, m in enumerate(members[5:])]
    await bot.wait_until(lambda: "because a dependency is down" in bot.logs(), "the failed run was not kept for later")
    await bot.wait_until(
        lambda: (
            all(r["content"] == RECORD_DELAYED_NOTE for q in during for r in bot.replies_to(q))
            and all(bot.replies_to(q) for q in during)
        ),
        "the members asking during the outage were not told",
    )
    fake_openai.token_delay_s = 0.0
    await come_back(PG_URL)

    asked = [interrupted, *during]
    await bot.wait_until(lambda: all(bot.answered(q, STORY) for q in asked), "a question was lost to the outage")
    assert [len(bot.replies_to(q)) for q in [first, *after, *asked]] == [1] * 7, "one answer each, in place"
    assert not apologies(bot), "no apology: the answers came"
    assert not any(m["content"] == DEPENDENCY_DOWN_NOTE for m in discord.bot_messages())
    assert await bot.terminate() == 0
    assert await pg_states(first, *after, *asked) == ["answered"] * 7
