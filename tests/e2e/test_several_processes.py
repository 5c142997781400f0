"""Several processes, one bot: real `observer run` processes sharing one PostgreSQL database.

A split layout (each process holds some shards) answers every guild from the process that owns its
shard; two processes started with the same layout by mistake both receive every message, and every
message is still answered exactly once (the claim in the shared record decides)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agent.member_texts import BUSY_REPLY, FAILED_REPLY
from tests.e2e.bot_process import BotProcess
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.openai_server import FakeOpenAI
from tests.pg_faults import PG_URL, recreate

pytestmark = pytest.mark.skipif(not PG_URL, reason="set OBSERVER_TEST_POSTGRES_URL to a database of its own")


SHARDS = 2  # the fake Discord's gateway (the `discord` fixture in tests/conftest.py)


@pytest.fixture
async def processes(tmp_path: Path, discord: FakeDiscord) -> AsyncIterator[list[BotProcess]]:
    """Two processes on one database, each with a model of its own that says which process it is."""
    await recreate(PG_URL)
    started: list[BotProcess] = []
    models: list[FakeOpenAI] = []
    for name in ("one", "two"):
        model = FakeOpenAI()
        await model.start()
        model.default_reply = f"answered by {name}"
        models.append(model)
        (tmp_path / name).mkdir()
        process = BotProcess(tmp_path / name, discord, model)
        process.env.update(OBSERVER_DATABASE_URL=PG_URL, OBSERVER_SHARD_COUNT="2")
        started.append(process)
    yield started
    for process in started:
        await process.stop()
    for model in models:
        await model.stop()


def guilds_on_both_shards(discord: FakeDiscord) -> list[dict]:
    """A channel in each of four guilds, two on each shard (the fake's first guild is one of them)."""
    home = discord.shard_of(discord.guild_id)
    guilds = [discord.guild_id, discord.add_guild("b", shard=home)]
    guilds += [discord.add_guild(name, shard=1 - home) for name in ("c", "d")]
    return [discord.general] + [discord.add_channel(f"talk-{n}", guild=g) for n, g in enumerate(guilds[1:])]


async def ask_everywhere(discord: FakeDiscord, channels: list[dict], per_channel: int) -> list[dict]:
    members = [discord.add_user(f"member{n}") for n in range(per_channel)]
    ask = f"<@{discord.bot['id']}>"
    return [
        await discord.send_as(member, f"{ask} question {n} here?", channel=channel)
        for channel in channels
        for n, member in enumerate(members)  # one member asks once per channel: nothing superseded
    ]


async def stop_all(processes: list[BotProcess]) -> None:
    """SIGTERM drains every reply in flight: nothing can be posted after this."""
    for process in processes:
        assert await process.terminate() == 0, process.logs()[-3000:]


async def test_a_split_layout_answers_each_guild_once_from_the_process_that_holds_its_shard(
    discord: FakeDiscord, processes: list[BotProcess]
):
    one, two = processes
    one.env["OBSERVER_SHARD_IDS"] = "0"
    two.env["OBSERVER_SHARD_IDS"] = "1"
    channels = guilds_on_both_shards(discord)  # before the start: READY lists a shard's guilds
    await one.start()
    await two.start()
    questions = await ask_everywhere(discord, channels, per_channel=1)
    await one.wait_until(lambda: all(one.answered(q) for q in questions), "every question answered")
    await stop_all(processes)

    for question in questions:
        shard = discord.shard_of(discord.channels[question["channel_id"]]["guild_id"])
        owner = ("one", "two")[shard]
        assert [r["content"] for r in one.replies_to(question)] == [f"answered by {owner}"]
    assert "holding shards [0] of 2" in one.logs() and "holding shards [1] of 2" in two.logs()


async def test_two_processes_started_with_one_layout_answer_every_message_exactly_once(
    discord: FakeDiscord, processes: list[BotProcess]
):
    for process in processes:
        process.env["OBSERVER_SHARD_IDS"] = "0-1"  # the same layout twice: both receive everything
    channels = guilds_on_both_shards(discord)[::2]  # one guild on each shard
    for process in processes:
        await process.start()
    assert all(len(link.connected()) == 2 for link in discord.shard_links.values()), "both hold every shard"
    questions = await ask_everywhere(discord, channels, per_channel=3)
    first = processes[0]
    await first.wait_until(lambda: all(first.answered(q) for q in questions), "every question answered")
    await stop_all(processes)

    answers = [len(first.replies_to(q)) for q in questions]
    assert answers == [1] * len(questions), f"answers per question: {answers}"
    said = [m["content"] for m in discord.bot_messages()]
    assert FAILED_REPLY not in said and BUSY_REPLY not in said, said
