"""Several processes, one bot (issue S): real `observer run` processes on one PostgreSQL database and
the fake Discord (4 shards), automatic layout.

1. Throughput with 1, 2 and 3 processes: chatter (recorded, skipped) and mentions (answered by a fast
   fake model) across 24 servers, from the first message sent to the last one handled.
2. The claim's cost per message (one conditional UPDATE on PostgreSQL).
3. Takeover after `kill -9` of the process holding most shards, with the default 15 s lease: until the
   survivors hold every shard, and until a question asked right after the kill is answered.
4. A rolling restart of two processes under a steady stream of mentions: lost and duplicated answers.

    OBSERVER_TEST_POSTGRES_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/bench_s \\
        .venv/bin/python -m bench.several_processes
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg

from agent.loop import run_async
from agent.memory.db import create_engine, upgrade
from agent.memory.progress import Progress
from agent.memory.record import Record
from tests.conftest import make_event
from tests.e2e.bot_process import BotProcess
from tests.e2e.test_automatic_shards import ask, dealt_out, holders, plain_dsn
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.openai_server import FakeOpenAI
from tests.pg_faults import PG_URL, recreate

SHARDS = 4
SERVERS = 24


def servers(discord: FakeDiscord) -> list[dict]:
    channels = []
    for n in range(SERVERS):
        guild = discord.add_guild(f"s{n}", shard=n % SHARDS)
        channels.append(discord.add_channel(f"talk-{n}", guild=guild))
    return channels


async def start(tmp: Path, discord: FakeDiscord, model: FakeOpenAI, count: int, lease: str) -> list[BotProcess]:
    processes = []
    for n in range(count):
        (tmp / f"p{n}").mkdir()
        process = BotProcess(tmp / f"p{n}", discord, model)
        process.env.update(
            OBSERVER_DATABASE_URL=PG_URL,
            OBSERVER_SHARD_COUNT=str(SHARDS),
            OBSERVER_SHARD_IDS="auto",
            OBSERVER_PROCESS_LEASE_SECONDS=lease,
            OBSERVER_LOG_LEVEL="INFO",
        )
        await process.start()
        processes.append(process)
    await dealt_out(processes[0], {p.proc.pid for p in processes if p.proc})
    # Leases are dealt before the sessions exist (Discord lets a bot IDENTIFY once every 5 s): measure
    # from when every shard is connected and has loaded its servers.
    await processes[0].wait_until(lambda: all(link.connected() for link in discord.shard_links.values()))
    await asyncio.sleep(3)
    return processes


async def recorded(ids: list[str]) -> int:
    async with await psycopg.AsyncConnection.connect(plain_dsn()) as conn:
        cursor = await conn.execute("SELECT count(*) FROM messages WHERE id = ANY(%s)", ([int(i) for i in ids],))
        row = await cursor.fetchone()
        return int(row[0]) if row else 0


@contextlib.asynccontextmanager
async def stage() -> AsyncIterator[tuple[FakeDiscord, FakeOpenAI, str]]:
    """A fresh database, the fake Discord with SHARDS shards, a fast fake model, a scratch folder."""
    await recreate(PG_URL)
    discord = FakeDiscord(shard_count=SHARDS)
    await discord.start()
    model = FakeOpenAI(default_reply="ok")
    await model.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            yield discord, model, tmp
    finally:
        await model.stop()
        await discord.stop()


async def throughput(count: int) -> None:
    async with stage() as (discord, model, tmp):
        channels = servers(discord)  # before the start: READY lists a shard's servers
        processes = await start(Path(tmp), discord, model, count, "15")
        member = discord.add_user("chatty")
        began = time.perf_counter()
        chatter = [await discord.send_as(member, f"just chatting {n}", channel=ch) for n in range(8) for ch in channels]
        mentions = await ask(discord, channels, 0) + await ask(discord, channels, 1)
        watch = processes[0]
        await watch.wait_until(lambda: all(watch.answered(q) for q in mentions), "mentions answered")
        while await recorded([m["id"] for m in chatter]) < len(chatter):  # noqa: ASYNC110 (polls the database)
            await asyncio.sleep(0.05)
        took = time.perf_counter() - began
        handled = len(chatter) + len(mentions)
        print(
            f"{count} process(es): {handled} messages ({len(chatter)} chatter, {len(mentions)} mentions) "
            f"in {took:.1f} s = {handled / took:.1f}/s"
        )
        for process in processes:
            await process.terminate()


async def claim_cost(n: int = 500) -> None:
    await recreate(PG_URL)
    engine = create_engine(PG_URL)
    await upgrade(engine)
    record, progress = Record(engine), Progress(engine, holder="bench")
    events = [make_event(f"question {i}") for i in range(n)]
    for event in events:
        await record.store_event(event, state="waiting")
    began = time.perf_counter()
    for event in events:
        assert await progress.claim(event.message_id, ("waiting",))
    per = (time.perf_counter() - began) / n * 1000
    print(f"claim: {per:.2f} ms per message (PostgreSQL, one conditional UPDATE, {n} messages)")
    await engine.dispose()


async def takeover() -> None:
    async with stage() as (discord, model, tmp):
        channels = servers(discord)
        processes = await start(Path(tmp), discord, model, 3, "15")
        layout = await holders()
        victim_pid = max(set(layout.values()), key=lambda pid: list(layout.values()).count(pid))
        victim = next(p for p in processes if p.proc and p.proc.pid == victim_pid)
        orphaned = [
            c for c in channels if layout[discord.shard_of(discord.channels[c["id"]]["guild_id"])] == victim_pid
        ]
        survivors = [p for p in processes if p is not victim]
        killed = time.perf_counter()
        await victim.kill9()
        questions = await ask(discord, orphaned[:4], 9)
        await dealt_out(survivors[0], {p.proc.pid for p in survivors if p.proc})
        taken = time.perf_counter() - killed
        watch = survivors[0]
        await watch.wait_until(lambda: all(watch.answered(q) for q in questions), "answered after takeover")
        answered = time.perf_counter() - killed
        doubled = sum(len(watch.replies_to(q)) > 1 for q in questions)
        print(
            f"takeover after kill -9 (lease 15 s): shards held again after {taken:.1f} s, "
            f"questions asked meanwhile answered after {answered:.1f} s, {doubled} answered twice"
        )
        for process in survivors:
            await process.terminate()


async def rolling_restart() -> None:
    async with stage() as (discord, model, tmp):
        channels = servers(discord)[:8]
        pair = await start(Path(tmp), discord, model, 2, "15")
        asked: list[dict] = []
        stop = asyncio.Event()

        async def steady() -> None:
            n = 0
            while not stop.is_set():
                asked.extend(await ask(discord, [channels[n % len(channels)]], n))
                n += 1
                await asyncio.sleep(0.5)

        sender = asyncio.create_task(steady())
        for process in pair * 2:  # each process restarted twice, one at a time
            await asyncio.sleep(5)
            await process.terminate()
            await process.start()
            await dealt_out(pair[0], {p.proc.pid for p in pair if p.proc})
        stop.set()
        await sender
        watch = pair[0]
        await watch.wait_until(lambda: all(watch.answered(q) for q in asked), "answered after the restart")
        counts = [len(watch.replies_to(q)) for q in asked]
        print(
            f"rolling restart of 2 processes under {len(asked)} mentions: "
            f"lost {counts.count(0)}, answered twice {sum(c > 1 for c in counts)}"
        )
        for process in pair:
            await process.terminate()


async def main() -> None:
    """`python -m bench.several_processes [claim] [throughput] [takeover] [rolling]` (default: all)."""
    if not PG_URL:
        raise SystemExit("set OBSERVER_TEST_POSTGRES_URL to a database of its own")
    os.environ.setdefault("TEST_GUARD_S", "600")
    parts = set(sys.argv[1:]) or {"claim", "throughput", "takeover", "rolling"}
    if "claim" in parts:
        await claim_cost()
    if "throughput" in parts:
        for count in (1, 2, 3):
            await throughput(count)
    if "takeover" in parts:
        await takeover()
    if "rolling" in parts:
        await rolling_restart()


if __name__ == "__main__":
    run_async(main())
