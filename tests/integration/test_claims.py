"""First one wins, across processes sharing the database (issue R): two real processes race to claim the
same paused approvals and the same interrupted questions; each is taken exactly once."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from agent.memory.db import create_engine, upgrade
from agent.memory.progress import Progress
from agent.memory.record import Record
from tests.conftest import make_event

REPO = Path(__file__).resolve().parents[2]
COUNT = 40

# One process's side of the race: every id claimed concurrently, in its own order; prints what it won.
WORKER = """
import asyncio, json, random, sys
from datetime import datetime
from agent.memory.db import create_engine
from agent.memory.progress import Progress

async def main(url, mode, ids, started):
    engine = create_engine(url)
    progress = Progress(engine)
    random.shuffle(ids)
    if mode == "paused":
        tries = [progress.claim(i, ("paused",)) for i in ids]
    else:  # an interrupted question after a crash: compared with the state as each process read it
        rows = {r.message_id: r for r in await progress.unfinished()}
        since = datetime.fromisoformat(started)
        tries = [progress.claim(i, (rows[i].state,), seen_at=rows[i].state_at, set_before=since) for i in ids]
    won = await asyncio.gather(*tries)
    await engine.dispose()
    print(json.dumps(sorted(i for i, w in zip(ids, won) if w)))

asyncio.run(main(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]))
"""


async def race(url: str, mode: str, ids: list[int]) -> list[list[int]]:
    """Two processes started together (both started after the rows were last touched)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    started = datetime.now(UTC).isoformat()
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", WORKER, url, mode, json.dumps(ids), started, env=env, stdout=asyncio.subprocess.PIPE
        )
        for _ in range(2)
    ]
    outs = await asyncio.gather(*(p.communicate() for p in procs))
    assert all(p.returncode == 0 for p in procs)
    return [json.loads(out.decode()) for out, _ in outs]


async def test_two_processes_claim_each_paused_run_and_each_interrupted_question_once(database_url: str) -> None:
    engine = create_engine(database_url)
    await upgrade(engine)
    record = Record(engine)
    progress = Progress(engine)
    paused = [make_event(f"approve {i}") for i in range(COUNT)]
    crashed = [make_event(f"interrupted {i}") for i in range(COUNT)]
    for event in paused:
        await record.store_event(event, state="waiting")
        await progress.mark(event.message_id, "paused", sources=("waiting",))
    for i, event in enumerate(crashed):
        await record.store_event(event, state="waiting")
        if i % 2:
            await progress.mark(event.message_id, "answering", sources=("waiting",))
    try:
        for mode, events in (("paused", paused), ("unfinished", crashed)):
            ids = [e.message_id for e in events]
            first, second = await race(database_url, mode, ids)
            assert not set(first) & set(second), f"{mode}: a run was taken by both processes"
            assert sorted(first + second) == sorted(ids), f"{mode}: every run is taken by one of them"
            assert {await progress.state(i) for i in ids} == {"answering"}
            assert not any(await asyncio.gather(*(progress.claim(i, ("paused",)) for i in ids))), "taken stays taken"
    finally:
        await record.close()
