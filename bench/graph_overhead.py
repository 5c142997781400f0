"""The reply graph's own overhead per handled message (issue A: p50 <= 5 ms, p99 <= 20 ms).

Runs mention messages through the whole graph against the fake OpenAI-compatible server with a
fixed model latency, and subtracts the time spent inside model calls and query embedding. What
remains is the graph: LangGraph's scheduling, the record (store, window, reply, usage), Chroma's
search, prompt rendering and context fitting.

Measured twice in one run: as Studio and the console run it, and as the Discord door does, with
every run checkpointed by LangGraph's SQLite checkpointer (thread per message, deleted when done).

    .venv/bin/python -m bench.graph_overhead [N]
"""

from __future__ import annotations

import sys
import time

from agent.loop import run_async
from agent.state import Context
from agent.stream import outcome_of
from bench.harness import bench_services, fake_model_process, summary
from tests.conftest import make_event, run_graph


async def checkpointed_run(graph, event) -> dict:
    """As the Discord door runs a reply: a thread per message, async durability, the thread deleted after."""
    thread = f"reply:{event.message_id}"
    final: dict = {}
    async for chunk in graph.astream(
        {"event": event},
        {"configurable": {"thread_id": thread}},
        context=Context(),
        stream_mode="values",
        durability="async",
    ):
        final = dict(chunk)
    await graph.checkpointer.adelete_thread(thread)
    return final


async def measure(n: int, runner) -> tuple[list[float], list[float]]:
    overheads: list[float] = []
    totals: list[float] = []
    for i in range(n + 20):
        event = make_event(f"@Observer question number {i}: what is a good cat name?", mentions_bot=True)
        started = time.perf_counter()
        outcome = outcome_of(await runner(event))
        total = (time.perf_counter() - started) * 1000
        t = outcome.timings
        inside = t.get("generate_model_ms", 0) + t.get("judge_model_ms", 0) + t.get("embed_ms", 0)
        if i >= 20:  # warm-up: first Chroma query, first HTTP connection
            totals.append(total)
            overheads.append(total - inside)
        assert outcome.reply, outcome.error
    return totals, overheads


async def main(n: int) -> None:
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    from graphs.reply import build

    async with fake_model_process(first_token_delay_s=0.02) as base_url, bench_services(base_url) as (svc, tmp):

        async def plain(event):
            return (await run_graph(svc, event))[1]

        async with AsyncSqliteSaver.from_conn_string(str(tmp / "checkpoints.db")) as saver:
            await saver.setup()
            graph = build(svc, checkpointer=saver)

            async def checkpointed(event):
                return await checkpointed_run(graph, event)

            totals, overheads = await measure(n, plain)
            c_totals, c_overheads = await measure(n, checkpointed)
    print(summary("end-to-end per message (fake model, 20 ms to first token)", totals))
    print(summary("graph overhead (minus model calls and embedding)", overheads))
    print(summary("end-to-end per message, checkpointed (SQLite)", c_totals))
    print(summary("graph overhead, checkpointed (SQLite)", c_overheads))


if __name__ == "__main__":
    run_async(main(int(sys.argv[1]) if len(sys.argv) > 1 else 300))
