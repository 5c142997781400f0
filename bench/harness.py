"""Shared set-up for benchmarks: a temp data dir, real SQLite + Chroma + embeddings, the fake model server."""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from agent.memory.embeddings import LocalE5Embedder
from agent.services import Services
from tests.conftest import make_services, models_toml


@asynccontextmanager
async def fake_model_process(
    first_token_delay_s: float = 0.02,
    token_delay_s: float = 0.0,
    reply_words: int = 0,
    outage_model: str = "",
    outage_seconds: float = 0.0,
    request_log: Path | None = None,
) -> AsyncIterator[str]:
    """The fake OpenAI-compatible server in its own process; yields its base URL."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakes.openai_server",
        "--first-token-delay",
        str(first_token_delay_s),
        "--token-delay",
        str(token_delay_s),
        "--reply-words",
        str(reply_words),
        "--outage-model",
        outage_model,
        "--outage-seconds",
        str(outage_seconds),
        "--request-log",
        str(request_log or ""),
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    base_url = (await proc.stdout.readline()).decode().strip()
    try:
        yield base_url
    finally:
        proc.terminate()
        await proc.wait()


@asynccontextmanager
async def bench_services(
    base_url: str | None = None, database_url: str | None = None
) -> AsyncIterator[tuple[Services, Path]]:
    with tempfile.TemporaryDirectory(prefix="observer-bench-") as tmp:
        tmp_path = Path(tmp)
        url = database_url or f"sqlite+aiosqlite:///{tmp_path / 'bench.db'}"
        toml = models_toml(base_url) if base_url is not None else None
        # Profile refresh off: it is a separate graph's background work, not the reply path measured here.
        svc = await make_services(tmp_path, url, LocalE5Embedder(), toml, profile_every_n=0)
        try:
            yield svc, tmp_path
        finally:
            await svc.close()


# Benchmarks ask one question after another as fast as the bot answers: flood control would (rightly)
# call that a flood. Off for them; tests keep the defaults.
NO_FLOOD = "[flood]\nmessages = 1000000\n\n"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(name: str, values: list[float], unit: str = "ms") -> str:
    return (
        f"{name}: n={len(values)} p50={percentile(values, 50):.2f}{unit} p90={percentile(values, 90):.2f}{unit} "
        f"p99={percentile(values, 99):.2f}{unit} mean={statistics.fmean(values):.2f}{unit}"
    )


async def judge_once(svc: Any, text: str, models: list[str]) -> Any:
    """One message (in #lobby) through the judge's real prompt and structured call; the result has
    output, method, model_ms and error."""
    from agent.models.structured import structured_call
    from agent.nodes.judge import judge_prompt, judge_schema
    from tests.conftest import make_event

    event = make_event(text, channel="lobby")
    prompt = await judge_prompt(svc.prompts, svc.registry, event, [], "Observer")
    return await structured_call(
        svc.registry,
        svc.router.cooldowns,
        svc.record,
        judge_schema(models),
        prompt,
        preferred=models[0],
        candidates=models,
        purpose="judge",
        event=event,
    )
