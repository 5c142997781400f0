"""Issue H's figures: the graph's own cost of one tool round, and MCP stdio round trips.

1. Graph overhead of one tool round: the same question answered with one `current_time` round and
   without, through the whole reply graph on the fake model (no model latency); the tool round's cost is
   the difference in wall time minus the extra model call and the tool's own time.
2. MCP stdio round trip to a trivial tool (the FastMCP tide server in tests/mcp): one at a time, and 20
   concurrent calls on the one kept-open session.

    .venv/bin/python -m bench.tools [N]
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from agent.events import Event
from agent.loop import run_async
from agent.memory.embeddings import LocalE5Embedder
from agent.stream import outcome_of
from agent.tools.base import ToolRun
from agent.tools.config import McpServerSpec
from agent.tools.mcp import McpHub
from bench.harness import summary
from tests.conftest import make_event, make_services, models_toml, run_graph
from tests.fakes.openai_server import FakeOpenAI, Reply

REPO = Path(__file__).resolve().parent.parent


def _tool_once(body: dict[str, Any]) -> Reply:
    answered = any(m.get("role") == "tool" for m in body.get("messages", []))
    if body.get("tools") and not answered:
        return Reply(tool_calls=[("current_time", {"timezone": "Asia/Tokyo"})])
    return Reply("It is morning in Tokyo.")


async def tool_round_overhead(n: int) -> None:
    import tempfile

    model = FakeOpenAI(responder=_tool_once)
    await model.start()
    with tempfile.TemporaryDirectory(prefix="observer-bench-") as tmp:
        toml = models_toml(model.base_url).replace("timeout_s = 600", "timeout_s = 600\ntools = true")
        svc = await make_services(
            Path(tmp), f"sqlite+aiosqlite:///{tmp}/b.db", LocalE5Embedder(), toml, profile_every_n=0
        )
        try:
            rounds: list[float] = []
            for i in range(n + 10):
                with_tool = make_event(f"@Observer what time is it in Tokyo? ({i})", mentions_bot=True)
                plain_event = make_event(f"@Observer hello there ({i})", mentions_bot=True)
                a = await timed(svc, with_tool)
                model.responder = lambda _b: Reply("Hello!")
                b = await timed(svc, plain_event)
                model.responder = _tool_once
                if i >= 10:
                    rounds.append(a - b)
            print(summary("graph overhead of one tool round (minus model and tool time)", rounds))
        finally:
            await svc.close()
            await model.stop()


async def timed(svc: Any, event: Event) -> float:
    started = time.perf_counter()
    outcome = outcome_of((await run_graph(svc, event))[1])
    wall = (time.perf_counter() - started) * 1000
    timings = outcome.timings
    tool_ms = sum(e["ms"] for e in outcome.tool_log)
    assert outcome.reply, outcome.error
    # Model time of every round: the final one's, and the rounds that asked for tools.
    model_ms = timings.get("generate_model_ms", 0.0) + timings.get("tool_rounds_model_ms", 0.0)
    return wall - model_ms - tool_ms - timings.get("embed_ms", 0.0)


async def mcp_round_trips(n: int) -> None:
    spec = McpServerSpec(name="tides", command=sys.executable, args=["-m", "tests.mcp.tide_server"], cwd=str(REPO))
    hub = McpHub([spec])
    await hub.start()
    try:
        [tide] = [t for t in hub.tools(set()) if t.name == "tide"]
        run = ToolRun(event=make_event("x"))
        for _ in range(10):
            await tide.invoke({"port": "nagoya"}, run)
        one: list[float] = []
        for _ in range(n):
            started = time.perf_counter()
            await tide.invoke({"port": "nagoya"}, run)
            one.append((time.perf_counter() - started) * 1000)
        print(summary("MCP stdio round trip, one at a time", one))
        batches: list[float] = []
        each: list[float] = []

        async def call() -> None:
            started = time.perf_counter()
            await tide.invoke({"port": "porto"}, run)
            each.append((time.perf_counter() - started) * 1000)

        for _ in range(max(n // 20, 5)):
            started = time.perf_counter()
            await asyncio.gather(*(call() for _ in range(20)))
            batches.append((time.perf_counter() - started) * 1000)
        print(summary("MCP stdio, 20 concurrent calls: each call", each))
        print(f"MCP stdio, 20 concurrent calls: all done p50={statistics.median(batches):.1f}ms")
    finally:
        await hub.close()


async def main(n: int) -> None:
    await mcp_round_trips(n)
    await tool_round_overhead(max(n // 4, 20))


if __name__ == "__main__":
    run_async(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200))
