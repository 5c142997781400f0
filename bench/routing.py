"""Model routing's numbers (issue C).

1. The judge's prompt stays under a fixed token bound however long the channel's history is:
   prompt tokens with 10, 1,000 and 100,000 stored messages.
2. Routing overhead (registry lookup, cooldown check, budget check, fitting a 50-message window into
   the model's context): p50 (target <= 2 ms).
3. A scripted outage: the first model answers 429 for 60 s; every message meanwhile is answered by the
   fallback within one model latency + 50 ms (target), and none is lost.

    .venv/bin/python -m bench.routing [--outage-seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime

from agent.events import ChatLine
from agent.loop import run_async
from agent.models.tokenizers import counter_for
from agent.models.tokens import approx_tokens
from agent.nodes.judge import judge_prompt
from agent.nodes.prompt_assembly import build_messages
from agent.stream import outcome_of
from bench.harness import bench_services, fake_model_process, summary
from tests.conftest import make_event, run_graph


async def judge_prompt_bound() -> None:
    async with bench_services() as (svc, _):
        channel = "long-history"
        stored = 0
        for target in (10, 1_000, 100_000):
            while stored < target:
                batch = [
                    make_event(
                        f"message {i}: " + "chatter about games and tea " * 3, author=f"m{i % 40}", channel=channel
                    )
                    for i in range(stored, min(target, stored + 1000))
                ]
                await asyncio.gather(*(svc.record.store_event(e) for e in batch))
                stored += len(batch)
            event = make_event("does anyone know a good board game?", channel=channel)
            history = await svc.record.window(event.channel_id, svc.settings.history_limit, before_id=event.message_id)
            prompt = await judge_prompt(svc.prompts, svc.registry, event, history, "Observer")
            print(f"judge prompt with {target:>7,} stored messages: {approx_tokens(prompt)} tokens")


async def routing_overhead(n: int) -> None:
    async with bench_services() as (svc, _):
        router = svc.router
        spec = svc.registry.spec(svc.registry.default_model)
        lines = [
            ChatLine(message_id=i, author=f"m{i % 7}", text=f"message {i} with some words 日本語も", is_bot=i % 5 == 0)
            for i in range(50)
        ]
        event = make_event("@Observer what do you think?", mentions_bot=True)
        system = "You are Observer." * 20
        samples = []
        for i in range(n + 50):
            started = time.perf_counter()
            await router.pick(
                svc.registry.default_model, needed_tokens=approx_tokens(event.text) + 400, guild_id=event.guild_id
            )
            build_messages(system, lines, event, spec, "Observer", svc.settings.context_tokens, counter_for(spec))
            if i >= 50:
                samples.append((time.perf_counter() - started) * 1000)
        print(summary("routing (pick + fit a 50-message window)", samples))


async def outage(seconds: float) -> None:
    async with fake_model_process(first_token_delay_s=0.1, outage_model="fake-primary", outage_seconds=seconds) as url:
        from tests.conftest import models_toml

        toml = models_toml(url, ("primary", "fallback"))
        import tempfile
        from pathlib import Path

        from agent.memory.embeddings import LocalE5Embedder
        from tests.conftest import make_services

        with tempfile.TemporaryDirectory() as tmp:
            svc = await make_services(
                Path(tmp), f"sqlite+aiosqlite:///{tmp}/o.db", LocalE5Embedder(), toml, profile_every_n=0
            )
            try:
                first = make_event("@Observer setup", mentions_bot=True, channel="ops")
                await svc.record.store_event(first)
                await svc.record.update_channel_settings(first.channel_id, model="primary")
                extra, answered, lost = [], 0, 0
                started = time.monotonic()
                i = 0
                while time.monotonic() - started < seconds:
                    event = make_event(f"@Observer question {i}", mentions_bot=True, channel="ops")
                    t0 = time.perf_counter()
                    outcome = outcome_of((await run_graph(svc, event))[1])
                    total = (time.perf_counter() - t0) * 1000
                    if not outcome.reply:
                        lost += 1
                    elif outcome.model == "fallback":
                        answered += 1
                        # beyond the fallback's own latency (its one successful call)
                        assert outcome.usage is not None
                        extra.append(total - outcome.usage["latency_ms"])
                    i += 1
                    await asyncio.sleep(0.4)
                stored = await svc.record.count_messages(event.channel_id)
            finally:
                await svc.close()
        print(
            f"outage of the first model for {seconds:.0f} s: {answered} of {i} messages answered by the fallback "
            f"(any others came after the outage, from the first model), {lost} unanswered, {stored} stored"
        )
        print(
            summary("time beyond the fallback's own model latency", extra)
            + f" max={max(extra):.2f}ms, first message (with the 429 round trip)={extra[0]:.2f}ms"
        )


async def main(args: argparse.Namespace) -> None:
    await judge_prompt_bound()
    await routing_overhead(2000)
    await outage(args.outage_seconds)
    print(f"(run at {datetime.now(UTC).isoformat(timespec='seconds')})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--outage-seconds", type=float, default=60.0)
    run_async(main(parser.parse_args()))
