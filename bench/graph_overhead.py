"""The reply graph's own overhead per handled message (issue A: p50 <= 5 ms, p99 <= 20 ms).

Runs mention messages through the whole graph against the fake OpenAI-compatible server with a
fixed model latency, and subtracts the time spent inside model calls and query embedding. What
remains is the graph: LangGraph's scheduling, the record (store, window, reply, usage), Chroma's
search, prompt rendering and context fitting.

    .venv/bin/python -m bench.graph_overhead [N]
"""

from __future__ import annotations

import sys
import time

from agent.cli import run_async
from bench.harness import bench_services, fake_model_process, summary
from tests.conftest import make_event, run_graph


async def main(n: int) -> None:
    overheads: list[float] = []
    totals: list[float] = []
    async with fake_model_process(first_token_delay_s=0.02) as base_url, bench_services(base_url) as (_svc, _):
        for i in range(n + 20):
            event = make_event(f"@Observer question number {i}: what is a good cat name?", mentions_bot=True)
            started = time.perf_counter()
            _, state = await run_graph(event)
            total = (time.perf_counter() - started) * 1000
            t = state["timings"]
            inside = t.get("generate_model_ms", 0) + t.get("judge_model_ms", 0) + t.get("embed_ms", 0)
            if i >= 20:  # warm-up: first Chroma query, first HTTP connection
                totals.append(total)
                overheads.append(total - inside)
            assert state.get("reply"), state.get("error")
    print(summary("end-to-end per message (fake model, 20 ms to first token)", totals))
    print(summary("graph overhead (minus model calls and embedding)", overheads))


if __name__ == "__main__":
    run_async(main(int(sys.argv[1]) if len(sys.argv) > 1 else 300))
