"""The dashboard: live-feed latency from a message's state change (committed to the record by another
connection, as the bot's process does) to the SSE client, and page load times on a record of 100,000
messages generated directly in SQLite.

    .venv/bin/python -m bench.dashboard [MESSAGES] [CHANGES]    (CHANGES 0: page loads only)
"""

from __future__ import annotations

import asyncio
import json
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web
from pydantic import SecretStr
from sqlalchemy import insert, update

from agent.loop import run_async
from agent.memory import tables
from agent.memory.db import create_engine, upgrade
from agent.memory.progress import Progress
from agent.settings import Settings
from dashboard.app import create_app
from dashboard.serve import build_dashboard, login_link

STATES = ("answered", "skipped", "skipped", "skipped", "answered", "failed", "expired")
CHANNELS, MEMBERS = 20, 200
BASE_ID = 1_300_000_000_000_000_000
PAGES = ("/live", "/live?state=failed", "/live?channel=105", "/live?member=1005", "/usage", "/channels", "/health")


async def fill(url: str, n: int) -> list[int]:
    """n members' messages over 30 days in 20 channels, a decision note and a usage row for each
    answered one; returns the ids."""
    engine = create_engine(url)
    await upgrade(engine)
    start = datetime.now(UTC) - timedelta(days=30)
    ids = [BASE_ID + i * 4096 for i in range(n)]
    async with engine.begin() as conn:
        await conn.execute(insert(tables.guilds), [{"id": 1, "name": "bench"}])
        await conn.execute(
            insert(tables.channels),
            [
                {"id": 100 + c, "guild_id": 1, "name": f"chan{c}", "mode": "mentions", "settings": {}}
                for c in range(CHANNELS)
            ],
        )
        await conn.execute(
            insert(tables.users), [{"id": 1000 + u, "name": f"member{u}", "is_bot": False} for u in range(MEMBERS)]
        )
        for chunk in range(0, n, 5000):
            rows, notes, usage = [], [], []
            for i in range(chunk, min(n, chunk + 5000)):
                at = start + timedelta(seconds=i * 25)
                state = STATES[i % len(STATES)]
                rows.append(
                    {
                        "id": ids[i],
                        "channel_id": 100 + i % CHANNELS,
                        "author_id": 1000 + i % MEMBERS,
                        "content": f"message {i}: what do you think about the thing #{i}?",
                        "created_at": at,
                        "attachments": [],
                        "state": state,
                        "state_at": at + timedelta(seconds=2),
                    }
                )
                if state == "answered":
                    notes.append(
                        {
                            "message_id": ids[i],
                            "created_at": at,
                            "kind": "decision",
                            "data": {"respond": True, "source": "judge", "reason": "a question", "model": "chat"},
                        }
                    )
                    usage.append(
                        {
                            "created_at": at,
                            "message_id": ids[i],
                            "guild_id": 1,
                            "channel_id": 100 + i % CHANNELS,
                            "user_id": 1000 + i % MEMBERS,
                            "purpose": "reply",
                            "model": "chat",
                            "tokens_in": 300,
                            "tokens_out": 80,
                            "cost_usd": 0.0004,
                            "latency_ms": 900.0,
                            "ok": True,
                        }
                    )
            await conn.execute(insert(tables.messages), rows)
            if notes:
                await conn.execute(insert(tables.message_notes), notes)
                await conn.execute(insert(tables.usage), usage)
    await engine.dispose()
    return ids


async def signed_in(http: aiohttp.ClientSession, base: str, settings: Settings) -> None:
    path = urlsplit(await login_link(settings)).path
    page = await (await http.get(base + path)).text()
    csrf = re.search(r'name="csrf" content="([^"]+)"', page)
    assert csrf
    done = await http.post(base + "/login", data={"token": path.rsplit("/", 1)[1], "csrf": csrf.group(1)})
    assert done.status == 200 and done.url.path == "/live"


def summary(values: list[float]) -> str:
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(len(values) * 0.95))]
    return f"p50 {statistics.median(values):7.1f} ms  p95 {p95:7.1f} ms  max {values[-1]:7.1f} ms  (n={len(values)})"


async def page_loads(http: aiohttp.ClientSession, base: str) -> None:
    for path in PAGES:
        times = []
        for _ in range(15):
            t0 = time.perf_counter()
            response = await http.get(base + path)
            body = await response.read()
            times.append((time.perf_counter() - t0) * 1000)
            assert response.status == 200
        print(f"  GET {path:26} {summary(times)}  {len(body) // 1024} KiB")


async def live_latency(http: aiohttp.ClientSession, base: str, url: str, ids: list[int], changes: int) -> list[float]:
    engine = create_engine(url)  # the bot's process, as far as the dashboard can tell
    progress = Progress(engine)
    waiting: dict[int, float] = {}
    arrived: list[float] = []
    seen = asyncio.Event()
    async with http.get(base + "/live/events") as events:

        async def read() -> None:
            async for line in events.content:
                if line.startswith(b"data: "):
                    item = json.loads(line[6:])
                    mid = int(item["id"])
                    if item["state"] == "waiting" and mid in waiting:
                        arrived.append((time.perf_counter() - waiting.pop(mid)) * 1000)
                        seen.set()

        reader = asyncio.create_task(read())
        await asyncio.sleep(1.0)  # the first page of items sent
        for i in range(changes):
            mid = ids[-(i + 1)]
            await progress.mark(mid, "skipped", sources=(None, "answered", "skipped", "failed", "expired"))
            # Moved back to waiting, committed: the clock starts when the bot's write is in.
            async with engine.begin() as conn:
                await conn.execute(
                    update(tables.messages)
                    .where(tables.messages.c.id == mid)
                    .values(state="waiting", state_at=datetime.now(UTC))
                )
            seen.clear()
            waiting[mid] = time.perf_counter()
            await seen.wait()
            await asyncio.sleep(0.05)
        reader.cancel()
    await engine.dispose()
    return arrived


async def main(n: int, changes: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'observer.db'}"
        t0 = time.perf_counter()
        ids = await fill(url, n)
        print(f"record: {n:,} messages generated in {time.perf_counter() - t0:.1f} s")
        for poll in (0.25, 0.1):
            settings = Settings(
                _env_file=None,  # type: ignore[call-arg]
                data_dir=Path(tmp) / "data",
                database_url=url,
                dashboard_secret=SecretStr("bench-secret-0123456789abcdef"),
                dashboard_poll_seconds=poll,
            )
            board = await build_dashboard(settings)
            runner = web.AppRunner(create_app(board))
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            base = f"http://127.0.0.1:{runner.addresses[0][1]}"
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                await signed_in(http, base, settings)
                if poll == 0.25:
                    print(f"page loads on {n:,} messages (server render, one client):")
                    await page_loads(http, base)
                if not changes:  # page loads only
                    await runner.cleanup()
                    await board.record.close()
                    break
                latency = await live_latency(http, base, url, ids, changes)
                print(f"live feed, state change committed -> SSE client, poll {poll} s: {summary(latency)}")
            await runner.cleanup()
            await board.record.close()


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    run_async(main(args[0] if args else 100_000, args[1] if len(args) > 1 else 40))
