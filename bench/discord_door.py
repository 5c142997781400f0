"""The Discord door's numbers (issue B), with the real discord.py client against the fake Discord server.

1. First-message latency: MESSAGE_CREATE sent to the client → the bot's first message arriving at the
   fake server, minus the model's time to first token as the bot saw it (target p50 <= 30 ms).
2. Skipped messages through the adapter: gateway dispatch → stored in the record (target >= 500/s).
3. 20 concurrent streams across 10 channels: responses with status 429 (target 0) and the shortest
   gap between two edits of one message (target >= 1 s, i.e. at most one edit a second).

With --dashboard, instead: the dashboard's cost to (1) (issue W). The same bot measured without the
dashboard and with it served in the bot's process and event loop (as `observer run` serves it with
OBSERVER_DASHBOARD_PORT), an operator's browser open on it: a signed-in client holding the Live page's
event stream open and reloading the Live page and the Usage page in turn every few seconds (each with its
stylesheet and script, which the pages send uncached; a Live reload reopens its stream, as a browser's
does). The browser is a process of its own, as a real one is: only the dashboard's work is in the bot's. Blocks without and with alternate (without-with, with-without, …; the dashboard started and stopped
for each of its blocks), so a drift over the run (the record growing, caches warming, the machine's other
load) falls on both sides alike. `--record N` first adds N members'
messages over 30 days to the record (bench.dashboard's generator), for pages the size of a used bot's.

    .venv/bin/python -m bench.discord_door
    .venv/bin/python -m bench.discord_door --dashboard [--messages 200] [--reload 3] [--record 0]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import itertools
import json
import re
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from pydantic import SecretStr

from agent.loop import run_async
from agent.memory.embeddings import LocalE5Embedder
from agent.settings import Settings
from bench.harness import NO_FLOOD, fake_model_process, percentile, summary
from discord_adapter.replier import Reply, ReplyTo
from tests.e2e.conftest import Harness, start_harness


def first_tokens(h: Harness) -> dict[int, float]:
    """The model's time to first token per answered message, as the bot saw it (filled as runs end)."""
    first_token: dict[int, float] = {}
    original = h.bot.replier.run

    async def run(to: ReplyTo) -> Reply:
        reply = await original(to)
        first_token[to.event.message_id] = reply.outcome.timings.get("first_token_ms", 0.0)
        return reply

    h.bot.replier.run = run  # type: ignore[method-assign]
    return first_token


async def first_message_latency(h: Harness, n: int) -> None:
    d = h.discord
    first_token = first_tokens(h)
    person = d.add_user("asker")
    latencies: list[float] = []
    for i in range(n + 5):
        arrived = asyncio.get_running_loop().create_future()
        d.message_waiters.append((lambda m: True, arrived))
        sent_at = time.perf_counter()
        msg = await d.send_as(person, f"{h.mention()} quick question {i}")
        await arrived
        elapsed = (time.perf_counter() - sent_at) * 1000
        await h.settle()
        if i >= 5:
            latencies.append(elapsed - first_token[int(msg["id"])])
    print(summary("first bot message after MESSAGE_CREATE, minus model time to first token", latencies))


async def finish_time(h: Harness, n: int) -> None:
    """MESSAGE_CREATE → the final text on Discord (no marker), and edits per reply (issue P's method:
    60 tokens, 20 ms to the first, 10 ms apart: the stream itself ends ~0.6 s after the request)."""
    d = h.discord
    person = d.add_user("finisher")
    channels = [d.general, *[d.add_channel(f"finish{i}") for i in range(4)]]  # 5 channels, as issue P did
    await d.dispatch("GUILD_CREATE", d.guild_payload())
    await h.settle()
    totals: list[float] = []
    edits: list[int] = []
    for i in range(n + 3):
        arrived = asyncio.get_running_loop().create_future()
        d.message_waiters.append((lambda m: True, arrived))
        sent_at = time.perf_counter()
        msg = await d.send_as(person, f"{h.mention()} finish question {i}", channel=channels[i % 5])
        reply = await arrived
        stored = d.messages[msg["channel_id"]][reply["id"]]
        await d.wait_until(lambda m=stored: "▌" not in m["content"], timeout=60)
        if i >= 3:
            totals.append((time.perf_counter() - sent_at) * 1000)
            edits.append(len(stored.get("_edits", [])))
        await h.settle()
    print(summary("MESSAGE_CREATE → final text complete on Discord", totals))
    print(f"edits per 60-token reply: mean {sum(edits) / len(edits):.1f}, max {max(edits)}")


async def skip_throughput(h: Harness, n: int) -> None:
    d = h.discord
    people = [d.add_user(f"chatter{i}") for i in range(20)]
    channels = [d.add_channel(f"lobby{i}") for i in range(10)]
    await d.dispatch("GUILD_CREATE", d.guild_payload())
    await h.settle()
    record = h.services.record
    before = await record.count_messages()
    started = time.perf_counter()
    for i in range(n):
        await d.send_as(people[i % 20], f"just chatting {i} おしゃべり", channel=channels[i % 10])
    await h.settle()
    elapsed = time.perf_counter() - started
    stored = await record.count_messages() - before
    print(
        f"skipped messages in 10 channels, gateway dispatch to stored through the graph: {stored / elapsed:.0f}/s ({stored} of {n} in {elapsed:.2f} s)"
    )


async def concurrent_streams(h: Harness, model_url: str) -> None:
    d = h.discord
    channels = [d.general, *[d.add_channel(f"room{i}") for i in range(9)]]
    await d.dispatch("GUILD_CREATE", d.guild_payload())
    await h.settle()
    people = [d.add_user(f"streamer{i}") for i in range(20)]
    started = time.perf_counter()
    await asyncio.gather(
        *(d.send_as(people[i], f"{h.mention()} tell me a long story #{i}", channel=channels[i % 10]) for i in range(20))
    )
    await d.wait_until(lambda: len(d.bot_messages()) >= 20, timeout=120)
    await h.settle()
    elapsed = time.perf_counter() - started
    gaps = []
    for message in d.bot_messages():
        edits = message.get("_edits", [])
        gaps += [b[0] - a[0] for a, b in itertools.pairwise(edits)]
    edits_total = sum(len(m.get("_edits", [])) for m in d.bot_messages())
    print(
        f"20 concurrent streams in 10 channels: {d.status_429} responses with status 429, {edits_total} edits, "
        f"shortest gap between edits of one message {min(gaps):.2f} s, all answered in {elapsed:.1f} s"
    )


WARM_UP = 5  # questions discarded before the first block
CHANNELS = 20  # questions go round these: each channel's share of Discord's rate limit (5 posts or edits
# per 5 s) is never used up, so no bot message waits for it, with the dashboard or without


@dataclass
class Block:
    """Reaction times of one condition: minus the model's time to first token, and whole."""

    minus_model: list[float] = field(default_factory=list)
    whole: list[float] = field(default_factory=list)
    spans: list[tuple[float, float]] = field(default_factory=list)  # each measured wait, perf_counter
    asked: set[str] = field(default_factory=set)  # every message id, warm-up included


async def ask(
    h: Harness, first_token: dict[int, float], person: Any, channels: list[Any], n: int, into: Block, warm_up: int = 0
) -> None:
    """warm_up + n questions one after another (each answered and settled before the next), round the
    channels; the last n measured into `into`."""
    d = h.discord
    for i in range(n + warm_up):
        arrived = asyncio.get_running_loop().create_future()
        d.message_waiters.append((lambda m: True, arrived))
        channel = channels[(len(into.whole) + i) % len(channels)]
        sent_at = time.perf_counter()
        msg = await d.send_as(person, f"{h.mention()} quick question {i}", channel=channel)
        await arrived
        answered_at = time.perf_counter()
        elapsed = (answered_at - sent_at) * 1000
        into.asked.add(msg["id"])
        await h.settle()
        if i >= warm_up:
            into.whole.append(elapsed)
            into.minus_model.append(elapsed - first_token[int(msg["id"])])
            into.spans.append((sent_at, answered_at))


@dataclass
class Browser:
    """What the operator's browser did: events read from the Live stream, messages seen answered, and
    each page load's time (the page and its static files)."""

    events: int = 0
    answered: set[str] = field(default_factory=set)
    streams: int = 0
    loads: dict[str, list[float]] = field(default_factory=dict)
    busy: list[tuple[float, float]] = field(default_factory=list)  # each page load, perf_counter

    def overlapped(self, span: tuple[float, float]) -> bool:
        return any(start < span[1] and span[0] < end for start, end in self.busy)


async def _watch(http: aiohttp.ClientSession, base: str, seen: Browser) -> None:
    async with http.get(base + "/live/events") as events:
        assert events.status == 200, events.status
        seen.streams += 1
        async for line in events.content:
            if line.startswith(b"data: "):
                item = json.loads(line[6:])
                seen.events += 1
                if item.get("state") == "answered" and item.get("decision"):
                    seen.answered.add(item["id"])


async def _load(http: aiohttp.ClientSession, base: str, path: str, assets: tuple[str, ...], seen: Browser) -> None:
    t0 = time.perf_counter()
    for url in (path, *assets):
        async with http.get(base + url) as response:
            await response.read()
            assert response.status == 200, (url, response.status)
    t1 = time.perf_counter()
    seen.loads.setdefault(path, []).append((t1 - t0) * 1000)
    seen.busy.append((t0, t1))


async def operator_browser(base: str, link: str, reload_s: float, seen: Browser) -> None:
    """Signed in with a one-time link; the Live page's stream open; Live and Usage reloaded in turn,
    each every `reload_s`, until cancelled. Says "ready" on stdout once signed in and watching."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        path = urlsplit(link).path
        page = await (await http.get(base + path)).text()
        csrf = re.search(r'name="csrf" content="([^"]+)"', page)
        assert csrf, "no sign-in form"
        done = await http.post(base + "/login", data={"token": path.rsplit("/", 1)[1], "csrf": csrf.group(1)})
        assert done.status == 200 and done.url.path == "/live", (done.status, done.url)
        stream = asyncio.create_task(_watch(http, base, seen))
        print("ready", flush=True)
        try:
            while True:
                await asyncio.sleep(reload_s / 2)
                stream.cancel()  # leaving the page closes its stream; the new page opens another
                await asyncio.gather(stream, return_exceptions=True)
                await _load(http, base, "/live", ("/static/app.css", "/static/live.js"), seen)
                stream = asyncio.create_task(_watch(http, base, seen))
                await asyncio.sleep(reload_s / 2)
                await _load(http, base, "/usage", ("/static/app.css",), seen)
        finally:
            stream.cancel()
            await asyncio.gather(stream, return_exceptions=True)


async def browser_process(base: str, link: str, reload_s: float) -> None:
    """The browser in a process of its own, as a real one is (its reading and parsing not on the bot's
    loop): runs until stdin closes, then prints what it saw as JSON."""
    seen = Browser()
    browser = asyncio.create_task(operator_browser(base, link, reload_s, seen))
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    if browser.done():
        browser.result()
    browser.cancel()
    await asyncio.gather(browser, return_exceptions=True)
    print(json.dumps(dataclasses.asdict(seen) | {"answered": sorted(seen.answered)}), flush=True)


@contextlib.asynccontextmanager
async def browser_beside(base: str, settings: Settings, reload_s: float, seen: Browser) -> AsyncIterator[None]:
    """An operator's browser on the dashboard, signed in with a one-time link; what it saw added to `seen`."""
    from dashboard.serve import login_link

    link = await login_link(settings)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.discord_door",
        "--browser",
        base,
        link,
        str(reload_s),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        ready = await proc.stdout.readline()
        assert ready.strip() == b"ready", f"the browser did not sign in: {ready!r}"
        yield
    finally:
        proc.stdin.close()
        out = await proc.stdout.read()
        await proc.wait()
    saw = json.loads(out.decode().strip().splitlines()[-1])
    seen.events += saw["events"]
    seen.streams += saw["streams"]
    seen.answered |= set(saw["answered"])
    for path, times in saw["loads"].items():
        seen.loads.setdefault(path, []).extend(times)
    seen.busy += [(a, b) for a, b in saw["busy"]]


@contextlib.asynccontextmanager
async def dashboard_beside(h: Harness) -> AsyncIterator[tuple[str, Settings]]:
    """The dashboard served as `observer run` serves it with OBSERVER_DASHBOARD_PORT: dashboard.serve.serve
    as a task in the bot's process and event loop, on its own connections to the same record."""
    from dashboard.serve import serve

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = h.services.settings.model_copy(
        update={"dashboard_port": port, "dashboard_secret": SecretStr("bench-dashboard-secret-0123456789")}
    )
    task = asyncio.create_task(serve(settings))
    try:
        for _ in range(500):
            if task.done():
                task.result()  # it failed to start: show why
            with contextlib.suppress(OSError):
                _reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}", settings
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def _comparison(name: str, without: list[float], with_: list[float]) -> None:
    print(name)
    for label, q in (("p50", 50.0), ("p90", 90.0), ("max", 100.0)):
        a, b = percentile(without, q), percentile(with_, q)
        print(f"  {label}  {a:9.2f}  {b:9.2f}  {b - a:+9.2f}  ({(b - a) / a * 100:+.0f}%)")


async def dashboard_cost(h: Harness, n: int, rounds: int, reload_s: float, record: int) -> None:
    d = h.discord
    if record:
        from bench.dashboard import fill

        t0 = time.perf_counter()
        await fill(h.services.settings.resolved_database_url(), record)
        print(f"record: {record:,} members' messages added in {time.perf_counter() - t0:.1f} s")
    channels = [d.general, *[d.add_channel(f"ask{i}") for i in range(CHANNELS - 1)]]
    await d.dispatch("GUILD_CREATE", d.guild_payload())
    await h.settle()
    first_token = first_tokens(h)
    person = d.add_user("asker")
    without, with_ = Block(), Block()
    limited = d.status_429
    await ask(h, first_token, person, channels, 0, Block(), warm_up=WARM_UP)
    seen = Browser()
    watched = 0.0
    for k in range(rounds):
        size = n // rounds + (1 if k < n % rounds else 0)
        for dashboard_open in (False, True) if k % 2 == 0 else (True, False):
            if not dashboard_open:
                await ask(h, first_token, person, channels, size, without)
                continue
            async with dashboard_beside(h) as (base, settings), browser_beside(base, settings, reload_s, seen):
                await asyncio.sleep(reload_s)  # signed in, the stream open, the Live page reloaded once
                started = time.perf_counter()
                await ask(h, first_token, person, channels, size, with_)
                await asyncio.sleep(1.0)  # the last answers reach the stream (the feed looks every 0.25 s)
                watched += time.perf_counter() - started

    print(
        f"the dashboard's cost to the bot's reaction time: {n} questions each way in {rounds * 2} alternating blocks "
        f"({WARM_UP} warm-up discarded first), round {CHANNELS} channels; ms"
    )
    print("                without       with  difference")
    minus_model = "MESSAGE_CREATE → first bot message, minus the model's time to first token"
    _comparison(minus_model, without.minus_model, with_.minus_model)
    _comparison("MESSAGE_CREATE → first bot message (model included)", without.whole, with_.whole)
    loads = ", ".join(
        f"{path} {len(times)} times (p50 {percentile(times, 50):.0f} ms, max {max(times):.0f} ms)"
        for path, times in seen.loads.items()
    )
    print(
        f"the browser, over the {watched:.0f} s with the dashboard: {seen.streams} Live streams, {seen.events} events, "
        f"{len(seen.answered & with_.asked)} of the {len(with_.asked)} messages asked seen answered with their "
        f"decision; loaded {loads}"
    )
    during = [t for t, span in zip(with_.minus_model, with_.spans, strict=True) if seen.overlapped(span)]
    apart = [t for t, span in zip(with_.minus_model, with_.spans, strict=True) if not seen.overlapped(span)]
    if during and apart:
        print(
            f"with it open, minus the model: {len(during)} answers while a page loaded p50 {percentile(during, 50):.2f} "
            f"max {max(during):.2f}; the other {len(apart)} p50 {percentile(apart, 50):.2f} max {max(apart):.2f}"
        )
    print(f"status 429 during the blocks: {d.status_429 - limited}")


async def main_dashboard(n: int, rounds: int, reload_s: float, record: int) -> None:
    embedder = LocalE5Embedder()
    async with fake_model_process(first_token_delay_s=0.02) as url:
        with tempfile.TemporaryDirectory() as tmp:
            async for h in start_harness(
                Path(tmp), embedder, SimpleNamespace(base_url=url), NO_FLOOD, profile_every_n=0
            ):
                await dashboard_cost(h, n, rounds, reload_s, record)


async def main() -> None:
    embedder = LocalE5Embedder()
    async with fake_model_process(first_token_delay_s=0.02) as url:
        with tempfile.TemporaryDirectory() as tmp:
            async for h in start_harness(
                Path(tmp), embedder, SimpleNamespace(base_url=url), NO_FLOOD, profile_every_n=0
            ):
                await first_message_latency(h, 100)
                await skip_throughput(h, 2000)
    async with fake_model_process(first_token_delay_s=0.02, token_delay_s=0.01, reply_words=60) as url:
        with tempfile.TemporaryDirectory() as tmp:
            async for h in start_harness(
                Path(tmp), embedder, SimpleNamespace(base_url=url), NO_FLOOD, profile_every_n=0
            ):
                await finish_time(h, 30)
    # Streams long enough to need many edits: 120 tokens at 40 ms each.
    async with fake_model_process(first_token_delay_s=0.05, token_delay_s=0.04, reply_words=120) as url:
        with tempfile.TemporaryDirectory() as tmp:
            async for h in start_harness(
                Path(tmp), embedder, SimpleNamespace(base_url=url), NO_FLOOD, profile_every_n=0
            ):
                await concurrent_streams(h, url)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dashboard", action="store_true", help="only the dashboard's cost to first-message latency")
    parser.add_argument("--messages", type=int, default=200, help="measured questions each way (--dashboard)")
    parser.add_argument("--rounds", type=int, default=5, help="pairs of blocks, without and with (--dashboard)")
    parser.add_argument("--reload", type=float, default=3.0, help="seconds between reloads of each page (--dashboard)")
    parser.add_argument(
        "--record", type=int, default=0, help="members' messages added to the record first (--dashboard)"
    )
    parser.add_argument("--browser", nargs=3, metavar=("BASE", "LINK", "RELOAD"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.browser:
        run_async(browser_process(args.browser[0], args.browser[1], float(args.browser[2])))
        sys.exit(0)
    run_async(main_dashboard(args.messages, args.rounds, args.reload, args.record) if args.dashboard else main())
