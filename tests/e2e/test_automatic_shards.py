"""Several processes, one bot, automatic layout (issue S): real `observer run` processes on one
PostgreSQL database deal a 4-shard gateway out among themselves with leases. A process killed with
`kill -9` loses its shards a lease later; the survivors take them over, answer what its servers said
meanwhile, and finish the answer it was writing, each exactly once. A rolling restart under a steady
stream of mentions loses nothing and answers nothing twice."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest

from agent.member_texts import BUSY_REPLY, FAILED_REPLY
from tests.e2e.bot_process import BotProcess
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.openai_server import FakeOpenAI
from tests.pg_faults import PG_URL, come_back, go_down, recreate

pytestmark = pytest.mark.skipif(not PG_URL, reason="set OBSERVER_TEST_POSTGRES_URL to a database of its own")

SHARDS = 4  # the fake Discord's gateway (the `discord` fixture in tests/conftest.py)
LEASE_S = "6"  # shorter than the default 15 s, so the test waits less for a takeover


def plain_dsn() -> str:
    return PG_URL.replace("postgresql+asyncpg://", "postgresql://").replace("postgresql+psycopg://", "postgresql://")


async def holders() -> dict[int, int]:
    """Shard → the pid of the process whose unexpired lease holds it."""
    async with await psycopg.AsyncConnection.connect(plain_dsn()) as conn:
        cursor = await conn.execute(
            "SELECT l.shard_id, p.pid FROM shard_leases l JOIN processes p ON p.id = l.holder "
            "WHERE l.expires_at >= extract(epoch from clock_timestamp())"
        )
        return {int(shard): int(pid) for shard, pid in await cursor.fetchall()}


@pytest.fixture
async def processes(tmp_path: Path, discord: FakeDiscord) -> AsyncIterator[list[BotProcess]]:
    await recreate(PG_URL)
    started: list[BotProcess] = []
    models: list[FakeOpenAI] = []
    for name in ("one", "two", "three"):
        model = FakeOpenAI()
        await model.start()
        model.default_reply = f"answered by {name}"
        models.append(model)
        (tmp_path / name).mkdir()
        process = BotProcess(tmp_path / name, discord, model)
        process.env.update(
            OBSERVER_DATABASE_URL=PG_URL,
            OBSERVER_SHARD_COUNT=str(SHARDS),
            OBSERVER_SHARD_IDS="auto",
            OBSERVER_PROCESS_LEASE_SECONDS=LEASE_S,
        )
        started.append(process)
    yield started
    for process in started:
        await process.stop()
    for model in models:
        await model.stop()


def three_guilds_per_shard(discord: FakeDiscord) -> list[dict]:
    """A channel in each of twelve guilds, three on every shard (the fake's first guild is one)."""
    channels = [discord.general]
    home = discord.shard_of(discord.guild_id)
    for shard in range(SHARDS):
        for n in range(3 - (shard == home)):
            guild = discord.add_guild(f"g{shard}-{n}", shard=shard)
            channels.append(discord.add_channel(f"talk-{shard}-{n}", guild=guild))
    return channels


async def ask(discord: FakeDiscord, channels: list[dict], round_: int) -> list[dict]:
    member = discord.add_user(f"member{round_}")
    return [
        await discord.send_as(member, f"<@{discord.bot['id']}> round {round_}, question here?", channel=channel)
        for channel in channels
    ]


async def dealt_out(first: BotProcess, pids: set[int]) -> dict[int, int]:
    """Wait until every shard is held by one of `pids`, each holding at least one, and every shard has
    exactly one gateway session (a lease is taken seconds before its session exists: Discord spaces
    IDENTIFYs 5 s apart, and a message sent to a shard nobody is connected to waits for a catch-up)."""
    found: dict[int, int] = {}
    discord = first.discord

    def settled() -> bool:
        connected = all(len(link.connected()) == 1 for link in discord.shard_links.values())
        return sorted(found) == list(range(SHARDS)) and set(found.values()) == pids and connected

    while not settled():
        found = await holders()
        await first.wait_until(lambda: True)  # fails fast if a process died
        await asyncio.sleep(0.2)
    return found


async def test_three_processes_share_four_shards_and_a_killed_ones_shards_are_taken_over_with_nothing_lost(
    discord: FakeDiscord, processes: list[BotProcess]
):
    channels = three_guilds_per_shard(discord)  # before the start: READY lists a shard's guilds
    for process in processes:
        await process.start()
    pids = {p.proc.pid: p for p in processes if p.proc}
    layout = await dealt_out(processes[0], set(pids))
    first_round = await ask(discord, channels, 0)
    one = processes[0]
    await one.wait_until(lambda: all(one.answered(q) for q in first_round), "every first question answered")
    for question in first_round:
        shard = discord.shard_of(discord.channels[question["channel_id"]]["guild_id"])
        owner = pids[layout[shard]]
        name = ("one", "two", "three")[processes.index(owner)]
        assert [r["content"] for r in one.replies_to(question)] == [f"answered by {name}"]

    # The victim is writing an answer, slowly, when it is killed.
    victim_pid = max(set(layout.values()), key=lambda pid: sum(1 for p in layout.values() if p == pid))
    victim = pids[victim_pid]
    victim_shards = sorted(s for s, pid in layout.items() if pid == victim_pid)
    victim.model.token_delay_s = 0.5
    victim.model.default_reply = "a long answer that is still being written when its process dies, word by word"
    home = next(c for c in channels if discord.shard_of(discord.channels[c["id"]]["guild_id"]) == victim_shards[0])
    [interrupted] = await ask(discord, [home], 1)
    await victim.wait_until(lambda: victim.streaming(interrupted), "the answer never started")
    await victim.kill9()
    # What every server says meanwhile: the victim's shards deliver nothing until another takes them.
    second_round = await ask(discord, channels, 2)

    survivors = [p for p in processes if p is not victim]
    taken = await dealt_out(survivors[0], {p.proc.pid for p in survivors if p.proc})
    assert set(taken) == set(range(SHARDS))
    everything = [*first_round, interrupted, *second_round]
    watch = survivors[0]
    await watch.wait_until(lambda: all(watch.answered(q) for q in everything), "every question answered")
    for process in survivors:
        assert await process.terminate() == 0, process.logs()[-3000:]

    answers = [len(watch.replies_to(q)) for q in everything]
    assert answers == [1] * len(everything), f"answers per question: {answers}"
    said = [m["content"] for m in discord.bot_messages()]
    assert FAILED_REPLY not in said and BUSY_REPLY not in said, said


async def test_a_rolling_restart_under_a_steady_stream_of_mentions_loses_nothing_and_doubles_nothing(
    discord: FakeDiscord, processes: list[BotProcess]
):
    pair = processes[:2]
    channels = three_guilds_per_shard(discord)
    for process in pair:
        # What a restart's catch-up queues in one channel must fit the flood bound (5 waiting questions
        # a channel): this test counts lost and doubled answers, not answers refused as a flood.
        process.env["OBSERVER_CHANNEL_QUEUE_SIZE"] = "20"
        await process.start()
    await dealt_out(pair[0], {p.proc.pid for p in pair if p.proc})
    asked: list[dict] = []
    stop = asyncio.Event()

    async def steady_stream() -> None:
        """Two mentions a second, each channel in turn (one every two seconds in a channel: what Discord's
        5-per-5-seconds channel limit lets a bot answer as fast as it comes)."""
        round_ = 0
        while not stop.is_set():
            asked.extend(await ask(discord, [channels[round_ % len(channels)]], round_))
            round_ += 1
            await asyncio.sleep(0.5)

    sender = asyncio.create_task(steady_stream())
    for process in pair:  # one by one: stop (drains), start again, wait until the shards are dealt again
        assert await process.terminate() == 0, process.logs()[-3000:]
        await process.start()
        await dealt_out(pair[0], {p.proc.pid for p in pair if p.proc})
    stop.set()
    await sender
    first = pair[0]
    try:
        await first.wait_until(lambda: all(first.answered(q) for q in asked), "every question answered")
    except AssertionError:
        left = [
            (q["id"], discord.shard_of(discord.channels[q["channel_id"]]["guild_id"]))
            for q in asked
            if not first.answered(q)
        ]
        raise AssertionError(f"unanswered (id, shard): {left}\n{pair[1].logs()[-6000:]}") from None
    for process in pair:
        assert await process.terminate() == 0, process.logs()[-3000:]

    answers = [len(first.replies_to(q)) for q in asked]
    assert answers == [1] * len(asked), f"answers per question: {answers}"


async def test_a_process_frozen_past_its_lease_leaves_the_answer_to_the_one_that_took_it_over(
    discord: FakeDiscord, processes: list[BotProcess]
):
    """SIGSTOP (a VM paused, a laptop lid closed) for longer than the lease: the other process takes
    the question over and finishes it; the thawed process stops its own run instead of writing over it."""
    pair = processes[:2]
    three_guilds_per_shard(discord)
    for process in pair:
        await process.start()
    pids = {p.proc.pid: p for p in pair if p.proc}
    layout = await dealt_out(pair[0], set(pids))
    victim = pids[layout[discord.shard_of(discord.guild_id)]]
    survivor = next(p for p in pair if p is not victim)
    victim.model.token_delay_s = 0.5
    victim.model.default_reply = "a long answer from the process that is about to be frozen solid, word by word"
    [question] = await ask(discord, [discord.general], 0)
    await victim.wait_until(lambda: victim.streaming(question), "the answer never started")
    assert victim.proc is not None
    victim.proc.send_signal(signal.SIGSTOP)
    try:
        await survivor.wait_until(
            lambda: survivor.answered(question, f"answered by {('one', 'two')[pair.index(survivor)]}"),
            "never taken over",
        )
    finally:
        victim.proc.send_signal(signal.SIGCONT)
    final = survivor.replies_to(question)[-1]["content"]
    await victim.wait_until(
        lambda: "silent for longer than its lease" in victim.logs(), "the thawed process never noticed"
    )
    await asyncio.sleep(3)  # room for a stray edit, were the thawed run still going
    assert [r["content"] for r in survivor.replies_to(question)] == [final], "one answer, the survivor's, unchanged"
    for process in pair:
        assert await process.terminate() == 0, process.logs()[-3000:]


async def test_a_database_outage_longer_than_the_lease_takes_nothing_from_anyone_and_loses_nothing(
    discord: FakeDiscord, processes: list[BotProcess]
):
    """Every process loses the database at once: when it comes back, none mistakes another for dead."""
    channels = three_guilds_per_shard(discord)
    for process in processes:
        await process.start()
    pids = {p.proc.pid: p for p in processes if p.proc}
    layout = await dealt_out(processes[0], set(pids))
    before = await ask(discord, channels, 0)
    watch = processes[0]
    await watch.wait_until(lambda: all(watch.answered(q) for q in before), "answered before the outage")
    await go_down(PG_URL)
    try:
        during = await ask(discord, channels, 1)
        await asyncio.sleep(float(LEASE_S) * 2.5)
    finally:
        await come_back(PG_URL)
    await watch.wait_until(lambda: all(watch.answered(q) for q in during), "answered after the outage")
    assert await holders() == layout, "nobody took anyone's shards"
    for process in processes:
        assert await process.terminate() == 0, process.logs()[-3000:]
    answers = [len(watch.replies_to(q)) for q in before + during]
    assert answers == [1] * len(answers), f"answers per question: {answers}"
    said = [m["content"] for m in discord.bot_messages()]
    assert FAILED_REPLY not in said, said
