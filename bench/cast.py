"""A character's reaction time (issue I): MESSAGE_CREATE sent to the real discord.py client → the
character's first webhook message arriving at the fake Discord, minus the model's time to first token
as the bot saw it (goal p50 <= 40 ms). The character is named ("Ren, …"), so cheap rules pick the
speaker; its webhook exists after the warm-up messages (the very first also finds or creates it).
Questions are 2.5 s apart, as a person's would be (see PAUSE_S).

    .venv/bin/python -m bench.cast
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from agent.loop import run_async
from agent.memory.embeddings import LocalE5Embedder
from agent.memory.persona_files import PersonaCard
from agent.memory.scopes import GLOBAL
from bench.discord_door import first_tokens
from bench.harness import NO_FLOOD, fake_model_process, summary
from tests.e2e.conftest import Harness, start_harness

WARM_UP = 5
PAUSE_S = 2.5


async def character_latency(h: Harness, n: int) -> None:
    d = h.discord
    for card in (PersonaCard("Mika", "Mika keeps the tea shop."), PersonaCard("Ren", "Ren is the blacksmith.")):
        await h.services.personas.save(card, GLOBAL)
        await h.services.casts.add(int(d.general["id"]), card.name)
    first_token = first_tokens(h)
    person = d.add_user("aiko")
    latencies: list[float] = []
    for i in range(n + WARM_UP):
        arrived = asyncio.get_running_loop().create_future()
        d.message_waiters.append((lambda m: bool(m.get("webhook_id")), arrived))
        sent_at = time.perf_counter()
        msg = await d.send_as(person, f"Ren, how much for blade number {i}?")
        await arrived
        elapsed = (time.perf_counter() - sent_at) * 1000
        await h.settle()
        if i >= WARM_UP:
            latencies.append(elapsed - first_token[int(msg["id"])])
        # A person reads the answer before asking again; back to back, every third question would wait
        # for the channel's share of Discord's rate limit (a post and an edit per answer, 4 calls per 5 s).
        await asyncio.sleep(PAUSE_S)
    print(summary("MESSAGE_CREATE → a character's first webhook message, minus model time to first token", latencies))
    print(f"webhooks created: {len(d.webhooks)}; status 429: {d.status_429}")


async def main() -> None:
    embedder = LocalE5Embedder()
    async with fake_model_process(first_token_delay_s=0.02) as url:
        with tempfile.TemporaryDirectory() as tmp:
            fake = SimpleNamespace(base_url=url)
            async for h in start_harness(Path(tmp), embedder, fake, NO_FLOOD, profile_every_n=0, cast_chain_turns=0):
                await character_latency(h, 100)


if __name__ == "__main__":
    run_async(main())
