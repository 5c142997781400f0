"""Time to answer again after PostgreSQL comes back: the real `observer run` on PostgreSQL (record and
checkpointer) against the fake Discord and a fake model, through two faults:

- every session of the bot's database terminated (what a server restart does to clients): time from the
  cut to the answer of a question sent right after it;
- the database away (connections refused) while a member asks: time from its return to the answer of
  the question kept in memory meanwhile, and of a question sent the moment it is back.

Needs OBSERVER_TEST_POSTGRES_URL (a database of its own: it is dropped and created again).
Prints figures; never fails on time."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from agent.loop import run_async
from bench.harness import summary
from tests.e2e.bot_process import BotProcess
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.openai_server import FakeOpenAI
from tests.pg_faults import PG_URL, come_back, go_down, recreate, terminate_sessions

REPLY = "the answer"
ROUNDS = 3


async def main() -> None:
    if not PG_URL:
        print("set OBSERVER_TEST_POSTGRES_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/<a database of its own>")
        return
    await recreate(PG_URL)
    discord, model = FakeDiscord(), FakeOpenAI(default_reply=REPLY)
    await discord.start()
    await model.start()
    after_cut: list[float] = []
    kept: list[float] = []
    fresh: list[float] = []
    with tempfile.TemporaryDirectory(prefix="observer-pg-heal-") as tmp:
        bot = BotProcess(Path(tmp), discord, model)
        bot.env.update(OBSERVER_DATABASE_URL=PG_URL, OBSERVER_RECORD_RETRY_SECONDS="2")
        await bot.start()

        def member() -> dict:
            return discord.add_user(f"asker{time.monotonic_ns()}")  # each question from its own member

        try:
            warm = await discord.send_as(member(), f"<@{discord.bot['id']}> warm up")
            await bot.wait_until(lambda: bot.answered(warm, REPLY), "no answer at all")
            for _ in range(ROUNDS):
                await terminate_sessions(PG_URL)
                cut = time.monotonic()
                question = await discord.send_as(member(), f"<@{discord.bot['id']}> after the cut")
                await bot.wait_until(lambda q=question: bot.answered(q, REPLY), "not answered after the cut")
                after_cut.append(time.monotonic() - cut)

                await go_down(PG_URL)
                waiting = await discord.send_as(member(), f"<@{discord.bot['id']}> while it is away")
                await bot.wait_until(lambda w=waiting: bool(bot.replies_to(w)), "the member was not told")
                await come_back(PG_URL)
                back = time.monotonic()
                question = await discord.send_as(member(), f"<@{discord.bot['id']}> once it is back")
                await bot.wait_until(lambda q=question: bot.answered(q, REPLY), "not answered once back")
                fresh.append(time.monotonic() - back)
                await bot.wait_until(lambda w=waiting: bot.answered(w, REPLY), "the kept question was lost")
                kept.append(time.monotonic() - back)
            await bot.terminate()
        finally:
            await bot.stop()
            await come_back(PG_URL)
    await model.stop()
    await discord.stop()
    print(f"PostgreSQL faults, {ROUNDS} rounds, on {os.cpu_count()} cores ({sys.platform})")
    print(summary("sessions terminated -> next question answered", after_cut, "s"))
    print(summary("database back -> question asked then answered", fresh, "s"))
    print(summary("database back -> question kept during the outage answered", kept, "s"))


if __name__ == "__main__":
    run_async(main())
