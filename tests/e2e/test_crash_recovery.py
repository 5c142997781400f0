"""Never lose a question: the real `observer run` in a subprocess, killed with `kill -9` or stopped with
SIGTERM and started again, against the fake Discord (which, like Discord, does not replay missed events)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import update

from agent.memory.db import create_engine
from agent.memory.progress import Progress
from agent.memory.tables import Message
from tests.e2e.bot_process import IN_PROGRESS, BotProcess
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.openai_server import FakeOpenAI

STORY = " ".join(f"word{i}" for i in range(30))


@pytest.fixture
async def bot(tmp_path: Path, discord: FakeDiscord, fake_openai: FakeOpenAI) -> AsyncIterator[BotProcess]:
    fake_openai.default_reply = STORY
    process = BotProcess(tmp_path, discord, fake_openai)
    yield process
    await process.stop()


async def states(tmp_path: Path, *messages: dict) -> list[str | None]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'observer.db'}")
    try:
        progress = Progress(engine)
        return [await progress.state(int(m["id"])) for m in messages]
    finally:
        await engine.dispose()


def mention(discord: FakeDiscord, text: str) -> str:
    return f"<@{discord.bot['id']}> {text}"


async def test_kill_9_mid_stream_finishes_the_same_message_after_restart(
    tmp_path: Path, bot: BotProcess, discord: FakeDiscord, fake_openai: FakeOpenAI
):
    fake_openai.token_delay_s = 0.25  # slow enough to be killed half-way
    await bot.start()
    alice = discord.add_user("alice")
    question = await discord.send_as(alice, mention(discord, "tell me a story"))
    await bot.wait_until(lambda: bot.streaming(question), "the answer never started streaming")
    await bot.kill9()
    [half] = bot.replies_to(question)
    assert half["content"].endswith(IN_PROGRESS), "killed mid-stream: the marker is still there"

    fake_openai.token_delay_s = 0.0
    await bot.start()
    await bot.wait_until(lambda: bot.answered(question, STORY), "the interrupted answer was never finished")
    assert [m["id"] for m in bot.replies_to(question)] == [half["id"]], "finished in place: never two answers"
    assert await bot.terminate() == 0
    assert await states(tmp_path, question) == ["answered"]


async def test_a_reply_posted_in_the_instant_before_the_kill_is_finished_in_place(
    tmp_path: Path, bot: BotProcess, discord: FakeDiscord, fake_openai: FakeOpenAI
):
    """Discord accepted the first part, but the kill came before its id reached the record."""
    fake_openai.token_delay_s = 0.25
    await bot.start()
    question = await discord.send_as(discord.add_user("gus"), mention(discord, "tell me a story"))
    await bot.wait_until(lambda: bot.streaming(question), "the answer never started streaming")
    await bot.kill9()
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'observer.db'}")
    async with engine.begin() as conn:
        await conn.execute(update(Message).where(Message.id == int(question["id"])).values(reply_parts=None))
    await engine.dispose()
    [half] = bot.replies_to(question)

    fake_openai.token_delay_s = 0.0
    await bot.start()
    await bot.wait_until(lambda: bot.answered(question, STORY), "the interrupted answer was never finished")
    assert [m["id"] for m in bot.replies_to(question)] == [half["id"]], "found on Discord and finished in place"
    assert await bot.terminate() == 0


async def test_queued_questions_survive_kill_9_and_a_second_kill_during_the_resumed_run(
    tmp_path: Path, bot: BotProcess, discord: FakeDiscord, fake_openai: FakeOpenAI
):
    fake_openai.token_delay_s = 0.25
    await bot.start()
    members = [discord.add_user(f"member{i}") for i in range(6)]
    questions = [await discord.send_as(m, mention(discord, f"question {i}")) for i, m in enumerate(members)]
    await bot.wait_until(lambda: bot.streaming(questions[0]), "the first answer never started")
    await bot.kill9()

    # The resumed run is itself interrupted: still one answer each, in the end.
    await bot.start()
    await bot.wait_until(lambda: bot.streaming(questions[0], words=4), "the resumed answer never streamed")
    await bot.kill9()
    fake_openai.token_delay_s = 0.0
    await bot.start()
    await bot.wait_until(lambda: all(bot.answered(q, STORY) for q in questions), "not every question was answered")
    # Six members: answered side by side, so their answers may be posted in any order.
    assert [len(bot.replies_to(q)) for q in questions] == [1] * 6, "no duplicate answers"
    assert await bot.terminate() == 0
    assert await states(tmp_path, *questions) == ["answered"] * 6


async def test_messages_sent_while_the_bot_was_down_are_recorded_and_answered_in_order(
    tmp_path: Path, bot: BotProcess, discord: FakeDiscord
):
    await bot.start()
    alice, bob, carol = (discord.add_user(n) for n in ("alice", "bob", "carol"))
    hello = await discord.send_as(alice, "hello everyone")  # the channel is known to the record
    await bot.wait_until(lambda: discord.last_seq > 0)
    await asyncio.sleep(0.5)
    assert await bot.terminate() == 0, "SIGTERM: a clean stop"

    missed = [
        await discord.send_as(alice, mention(discord, "first while you were away")),
        await discord.send_as(bob, "just chatting"),
        await discord.send_as(bob, mention(discord, "second while you were away")),
        await discord.send_as(carol, "more chatter"),
        await discord.send_as(carol, mention(discord, "third while you were away")),
    ]
    asked = [missed[0], missed[2], missed[4]]
    await bot.start()
    await bot.wait_until(lambda: all(bot.answered(q, STORY) for q in asked), "missed questions were not answered")
    assert [len(bot.replies_to(m)) for m in missed] == [1, 0, 1, 0, 1]
    assert await bot.terminate() == 0
    assert await states(tmp_path, hello, *missed) == [
        "skipped",
        "answered",
        "skipped",
        "answered",
        "skipped",
        "answered",
    ]


async def recorded(tmp_path: Path, *messages: dict) -> list[bool]:
    """Whether each message is in the record at all (a state of None may still be a recorded row)."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'observer.db'}")
    try:
        known = await Progress(engine).known([int(m["id"]) for m in messages])
        return [int(m["id"]) in known for m in messages]
    finally:
        await engine.dispose()


async def test_catch_up_keeps_a_blocked_members_missed_messages_out_of_the_record(
    tmp_path: Path, bot: BotProcess, discord: FakeDiscord
):
    """Catch-up arrives a missed message through the same step as the live path: the access rules keep
    a blocked member's words out of the record (record_blocked = false), answered or not."""
    alice, mallory = discord.add_user("alice"), discord.add_user("mallory")
    bot.extra_toml = f"\n[access]\nblock_users = [{mallory['id']}]\nrecord_blocked = false\n"
    await bot.start()
    hello = await discord.send_as(alice, "hello everyone")  # the channel is known to the record
    await bot.wait_until(lambda: discord.last_seq > 0)
    await asyncio.sleep(0.5)
    assert await bot.terminate() == 0, "SIGTERM: a clean stop"

    missed = [
        await discord.send_as(mallory, mention(discord, "asked while you were away")),
        await discord.send_as(mallory, "chatting while you were away"),
        await discord.send_as(alice, mention(discord, "and me?")),
        await discord.send_as(alice, "just chatting"),
    ]
    await bot.start()
    await bot.wait_until(lambda: bot.answered(missed[2], STORY), "the allowed member's missed question")
    assert await bot.terminate() == 0
    assert [len(bot.replies_to(m)) for m in missed] == [0, 0, 1, 0], "a blocked member is not answered"
    assert await recorded(tmp_path, hello, *missed) == [True, False, False, True, True]
    assert await states(tmp_path, *missed[2:]) == ["answered", "skipped"]


async def test_downtime_is_caught_up_even_when_live_messages_arrive_during_recovery(
    tmp_path: Path, bot: BotProcess, discord: FakeDiscord, fake_openai: FakeOpenAI
):
    fake_openai.token_delay_s = 0.25
    await bot.start()
    alice, bob = discord.add_user("alice"), discord.add_user("bob")
    interrupted = await discord.send_as(alice, mention(discord, "tell me a story"))
    await bot.wait_until(lambda: bot.streaming(interrupted), "the answer never started")
    await bot.kill9()
    while_down = await discord.send_as(bob, mention(discord, "asked while you were down"))

    # Recovery is held at its first read of Discord; meanwhile a live question arrives and is stored.
    fake_openai.token_delay_s = 0.0
    discord.reads_open = asyncio.Event()
    await bot.start()
    live = await discord.send_as(alice, mention(discord, "asked after the restart"))
    while (await states(tmp_path, live)) == [None]:  # noqa: ASYNC110 - polling another process's database
        await asyncio.sleep(0.05)
    discord.reads_open.set()

    asked = [interrupted, while_down, live]
    await bot.wait_until(lambda: all(bot.answered(q, STORY) for q in asked), "a question was lost")
    resumed_done = max(t for t, _ in bot.replies_to(interrupted)[0]["_shown"])
    assert resumed_done < bot.replies_to(live)[0]["_posted_at"], "alice's questions are answered in her order"
    assert [len(bot.replies_to(q)) for q in asked] == [1, 1, 1]
    assert await bot.terminate() == 0
    assert await states(tmp_path, *asked) == ["answered"] * 3


async def test_sigterm_lets_a_streaming_reply_finish_and_exits_0(
    tmp_path: Path, bot: BotProcess, discord: FakeDiscord, fake_openai: FakeOpenAI
):
    fake_openai.token_delay_s = 0.1
    await bot.start()
    question = await discord.send_as(discord.add_user("dana"), mention(discord, "long answer please"))
    await bot.wait_until(lambda: bot.streaming(question), "the answer never started")
    assert await bot.terminate() == 0
    assert bot.answered(question, STORY), "the reply in flight was finished before the process stopped"
    assert await states(tmp_path, question) == ["answered"]


async def test_a_question_older_than_the_resume_window_gets_no_late_answer(
    tmp_path: Path, bot: BotProcess, discord: FakeDiscord, fake_openai: FakeOpenAI
):
    fake_openai.token_delay_s = 0.25
    bot.env["OBSERVER_RESUME_WINDOW"] = "1"
    await bot.start()
    question = await discord.send_as(discord.add_user("erin"), mention(discord, "tell me a story"))
    await bot.wait_until(lambda: bot.streaming(question), "the answer never started")
    await bot.kill9()
    await asyncio.sleep(1.5)  # the question is now older than the 1 s window
    requests = len(fake_openai.requests)
    await bot.start()
    await bot.wait_until(lambda: IN_PROGRESS not in bot.replies_to(question)[0]["content"], "never closed")
    [closed] = bot.replies_to(question)
    assert "interrupted by a restart" in closed["content"] and "word0" in closed["content"]
    assert len(fake_openai.requests) == requests, "no late answer"
    assert await bot.terminate() == 0
    assert await states(tmp_path, question) == ["expired"]


async def test_member_words_stay_out_of_debug_logs(tmp_path: Path, bot: BotProcess, discord: FakeDiscord):
    bot.env["OBSERVER_LOG_LEVEL"] = "DEBUG"
    await bot.start()
    question = await discord.send_as(discord.add_user("finn"), mention(discord, "the secret word is zanzibar42"))
    await bot.wait_until(lambda: bot.answered(question, STORY), "no answer")
    assert await bot.terminate() == 0
    logs = bot.logs()
    assert "WebSocket Event" not in logs and "zanzibar42" not in logs and "word3" not in logs
