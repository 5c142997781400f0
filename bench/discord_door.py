"""The Discord door's numbers (issue B), with the real discord.py client against the fake Discord server.

1. First-message latency: MESSAGE_CREATE sent to the client → the bot's first message arriving at the
   fake server, minus the model's time to first token as the bot saw it (target p50 <= 30 ms).
2. Skipped messages through the adapter: gateway dispatch → stored in the record (target >= 500/s).
3. 20 concurrent streams across 10 channels: responses with status 429 (target 0) and the shortest
   gap between two edits of one message (target >= 1 s, i.e. at most one edit a second).

    .venv/bin/python -m bench.discord_door
"""

from __future__ import annotations

import asyncio
import itertools
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from agent.loop import run_async
from agent.memory.embeddings import LocalE5Embedder
from bench.harness import NO_FLOOD, fake_model_process, summary
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
    run_async(main())
