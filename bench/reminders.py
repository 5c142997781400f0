"""Reminders due in the same second, fired by two processes sharing one PostgreSQL database: how long
until every one was delivered, the CPU each process spent, and whether any was delivered twice.

    .venv/bin/python -m bench.reminders [--count 1000] [--processes 2] [--url postgresql+asyncpg://…]

Each process runs the real ReminderScheduler (APScheduler 4 on the shared data store, the record's
claim); its delivery only writes a line, so the figures are the scheduler's and the record's, not
Discord's. The database (default obs_rem_bench on 127.0.0.1) is dropped and made anew. Never fails on time."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import signal
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agent.memory.db import create_engine, upgrade
from agent.schedules.scheduler import Due, ReminderScheduler
from agent.schedules.store import NewReminder, Reminders, ReminderState

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/obs_rem_bench"


async def worker(url: str, data_dir: Path) -> None:
    """One process: its scheduler fires what is due; stdin "add N SECONDS" makes N reminders due then."""
    engine = create_engine(url)
    reminders = Reminders(engine, per_member=1_000_000)
    scheduler = ReminderScheduler(reminders, data_dir=data_dir, grace=timedelta(hours=1), holder=f"w{os.getpid()}")
    reminders.added.append(scheduler.schedule)

    async def deliver(due: Due) -> ReminderState:
        print(f"fired {due.reminder.id} {time.time():.6f}", flush=True)
        return "sent"

    await scheduler.start(deliver)
    print("ready", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    reader = asyncio.StreamReader()
    await asyncio.get_running_loop().connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    async def commands() -> None:
        while line := (await reader.readline()).decode().split():
            if line[0] == "add":
                count, due = int(line[1]), datetime.fromtimestamp(float(line[2]), UTC)
                for i in range(count):
                    await reminders.add(
                        NewReminder("remind", 1, 2, "bench", False, 1000 + i % 50, "bench", f"r{i}", "UTC", due_at=due)
                    )
                print("added", flush=True)
        stop.set()

    task = asyncio.create_task(commands())
    await stop.wait()
    task.cancel()
    await scheduler.stop()
    await engine.dispose()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(f"cpu {usage.ru_utime + usage.ru_stime:.3f}", flush=True)


async def fresh_database(url: str) -> None:
    import asyncpg
    from sqlalchemy.engine.url import make_url

    parsed = make_url(url)
    admin = await asyncpg.connect(host=parsed.host, port=parsed.port or 5432, user=parsed.username, database="postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{parsed.database}"')
    finally:
        await admin.close()
    engine = create_engine(url)
    await upgrade(engine)
    await engine.dispose()


async def run(url: str, count: int, processes: int, lead_s: float = 15.0) -> dict[str, float | int]:
    """Start `processes` workers on a fresh database, make `count` reminders due in the same second
    (`lead_s` ahead), wait for every one; returns the figures (duplicates counted, never asserted here)."""
    await fresh_database(url)
    tmp = Path(tempfile.mkdtemp(prefix="bench-rem-"))
    procs = []
    for n in range(processes):
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.reminders", "--worker", "--url", url, "--dir", str(tmp / str(n)),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        procs.append(proc)
    for proc in procs:
        assert proc.stdout is not None
        while (await proc.stdout.readline()).strip() != b"ready":
            pass
    due = time.time() + lead_s
    assert procs[0].stdin is not None and procs[0].stdout is not None
    procs[0].stdin.write(f"add {count} {due}\n".encode())
    await procs[0].stdin.drain()
    fired: list[tuple[int, int, float]] = []  # (process, reminder id, when)
    added, everyone = asyncio.Event(), asyncio.Event()

    async def read(n: int, proc: asyncio.subprocess.Process) -> float:
        assert proc.stdout is not None
        cpu = 0.0
        async for raw in proc.stdout:
            parts = raw.decode().split()
            if parts[:1] == ["fired"]:
                fired.append((n, int(parts[1]), float(parts[2])))
                if len({r for _, r, _ in fired}) >= count:
                    everyone.set()
            elif parts[:1] == ["added"]:
                added.set()
            elif parts[:1] == ["cpu"]:
                cpu = float(parts[1])
        return cpu

    readers = [asyncio.create_task(read(n, p)) for n, p in enumerate(procs)]
    await added.wait()
    made_s = time.time() - (due - lead_s)
    await everyone.wait()
    await asyncio.sleep(2)  # a window for a second delivery to show, should there be one
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.close()
    cpus = await asyncio.gather(*readers)
    for proc in procs:
        await proc.wait()
    times = sorted(t for _, _, t in fired)
    counts = Counter(r for _, r, _ in fired)
    return {
        "count": count,
        "processes": processes,
        "made_s": made_s,
        "first_after_due_s": times[0] - due,
        "all_within_s": times[-1] - due,
        "duplicates": sum(c - 1 for c in counts.values()),
        **{f"p{n}_fired": sum(1 for p, _, _ in fired if p == n) for n in range(processes)},
        **{f"p{n}_cpu_s": cpus[n] for n in range(processes)},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", action="store_true")
    parser.add_argument("--url", default=os.environ.get("OBSERVER_BENCH_POSTGRES_URL", DEFAULT_URL))
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    if args.worker:
        asyncio.run(worker(args.url, args.dir))
        return
    with contextlib.suppress(KeyboardInterrupt):
        figures = asyncio.run(run(args.url, args.count, args.processes))
        print(f"{figures['count']} reminders due in the same second, {figures['processes']} processes on PostgreSQL")
        print(f"  made (rows + schedules) in {figures['made_s']:.1f} s by one process")
        print(
            f"  first delivered {figures['first_after_due_s']:+.2f} s after due, all within {figures['all_within_s']:.2f} s"
        )
        for n in range(figures["processes"]):
            print(f"  process {n}: delivered {figures[f'p{n}_fired']}, CPU {figures[f'p{n}_cpu_s']:.1f} s (whole run)")
        print(f"  delivered twice: {figures['duplicates']}")


if __name__ == "__main__":
    main()
