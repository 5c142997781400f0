"""Chaos (issue G2): members talk in 10 channels for 3 minutes while the real `observer run` is killed with
`kill -9` at random every 10-30 s and restarted. Reports messages lost (must be 0), addressed messages
answered (must be all), duplicate answers (must be 0) and the time from a restart to the first answer
to a question asked before the kill.

    .venv/bin/python -m bench.chaos [SECONDS]
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from agent.loop import run_async
from agent.memory.db import create_engine
from agent.memory.tables import Message
from bench.harness import summary
from tests.e2e.bot_process import IN_PROGRESS, BotProcess
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.openai_server import FakeOpenAI

CHANNELS = 10
REPLY = " ".join(f"word{i}" for i in range(60))


async def main(seconds: float) -> None:
    rng = random.Random(7)
    discord, model = FakeDiscord(), FakeOpenAI(default_reply=REPLY, first_token_delay_s=0.02, token_delay_s=0.01)
    await discord.start()
    await model.start()
    channels = [discord.general] + [discord.add_channel(f"room{i}") for i in range(1, CHANNELS)]
    members = [discord.add_user(f"member{i}") for i in range(20)]
    sent: list[dict] = []
    asked: list[dict] = []
    restart_waits: list[float] = []
    with tempfile.TemporaryDirectory(prefix="observer-chaos-") as tmp:
        bot = BotProcess(Path(tmp), discord, model)
        await bot.start()
        for channel in channels:  # every channel known to the record before the chaos starts
            sent.append(await discord.send_as(rng.choice(members), "hello", channel=channel))
        ends = time.monotonic() + seconds

        async def talk(channel: dict) -> None:
            while time.monotonic() < ends:
                await asyncio.sleep(rng.uniform(1.0, 4.0))
                addressed = rng.random() < 0.35
                text = f"<@{discord.bot['id']}> question {len(sent)}" if addressed else f"chatter {len(sent)}"
                # Each question from its own member: a member who asks again while waiting is answered
                # once, for the newer question (by design), which would blur the count here.
                author = discord.add_user(f"asker{len(sent)}") if addressed else rng.choice(members)
                msg = await discord.send_as(author, text, channel=channel)
                sent.append(msg)
                if addressed:
                    asked.append(msg)

        async def kill_and_restart() -> None:
            kills = 0
            while time.monotonic() < ends - 5:
                await asyncio.sleep(rng.uniform(10, 30))
                if time.monotonic() >= ends - 5:
                    break
                waiting = [q for q in asked if not bot.answered(q)]
                await bot.kill9()
                kills += 1
                started = time.monotonic()
                await bot.start()
                if waiting:
                    await bot.wait_until(lambda w=waiting: any(bot.answered(q) for q in w), "no resumed answer")
                    restart_waits.append(time.monotonic() - started)
            print(f"killed with -9 and restarted {kills} times")

        await asyncio.gather(*(talk(c) for c in channels), kill_and_restart())
        await bot.wait_until(lambda: all(bot.answered(q) for q in asked), "not every question was answered")
        code = await bot.terminate()

        engine = create_engine(f"sqlite+aiosqlite:///{Path(tmp) / 'data' / 'observer.db'}")
        async with engine.connect() as conn:
            stored = {int(i) for (i,) in (await conn.execute(select(Message.id))).all()}
        await engine.dispose()
        lost = [m for m in sent if int(m["id"]) not in stored]
        duplicates = [q for q in asked if len(bot.replies_to(q)) > 1]
        half = [m for m in discord.bot_messages() if IN_PROGRESS in m["content"]]
        print(f"members' messages sent: {len(sent)}, of them addressed to the bot: {len(asked)}")
        print(f"messages lost (not in the record): {len(lost)}")
        print(f"addressed messages answered: {sum(bot.answered(q) for q in asked)}/{len(asked)}")
        print(f"duplicate answers: {len(duplicates)}; half-written messages left on screen: {len(half)}")
        print(f"HTTP 429 from Discord: {discord.status_429}; final SIGTERM exit code: {code}")
        if restart_waits:
            print(summary("restart (process start) to the first resumed answer", restart_waits, "s"))
    await model.stop()
    await discord.stop()


if __name__ == "__main__":
    run_async(main(float(sys.argv[1]) if len(sys.argv) > 1 else 180.0))
