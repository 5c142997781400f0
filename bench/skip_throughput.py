"""Messages the cheap rules skip, stored into SQLite by one process (issue A: >= 1,000/s).

Each message goes through the whole reply graph (ingest stores it, the rules skip it, the run ends).
Measured twice: one message at a time, and as a busy server delivers them: ten channels at once,
each channel's messages in order (the Discord adapter keeps one queue per channel).

    .venv/bin/python -m bench.skip_throughput [N]
"""

from __future__ import annotations

import asyncio
import sys
import time

from agent.events import Event
from agent.loop import run_async
from agent.stream import outcome_of
from bench.harness import bench_services
from graphs.reply import ReplyGraph, build
from tests.conftest import make_event

CHANNELS = 10


async def run_channel(graph: ReplyGraph, events: list[Event]) -> None:
    for e in events:
        outcome = outcome_of(await graph.ainvoke({"event": e}))
        assert outcome.decision is not None and outcome.decision.respond is False


async def main(n: int) -> None:
    async with bench_services() as (svc, _):
        graph = build(svc)

        def batch(tag: str) -> list[Event]:
            return [
                make_event(f"{tag} chatter {i} 雑談", author=f"member{i % 50}", channel=f"chan{i % CHANNELS}")
                for i in range(n)
            ]

        await run_channel(graph, batch("warm-up")[:100])
        events = batch("sequential")
        started = time.perf_counter()
        await run_channel(graph, events)
        sequential = n / (time.perf_counter() - started)

        events = batch("concurrent")
        per_channel = [events[c::CHANNELS] for c in range(CHANNELS)]
        started = time.perf_counter()
        await asyncio.gather(*(run_channel(graph, chunk) for chunk in per_channel))
        concurrent = n / (time.perf_counter() - started)
        stored = await svc.record.count_messages()
    print(f"skipped messages, one at a time:        {sequential:.0f}/s (n={n})")
    print(f"skipped messages, {CHANNELS} channels at once:  {concurrent:.0f}/s (n={n})")
    print(f"messages in the record: {stored} (expected {2 * n + 100})")


if __name__ == "__main__":
    run_async(main(int(sys.argv[1]) if len(sys.argv) > 1 else 3000))
