"""100 members mention the bot at once in one channel: the real `observer run` against the fake Discord
(Discord's 5 calls per 5 s per channel, 429 beyond) and the fake model. Prints answered / told busy /
told nothing / 429s once every member has an answer or a busy note (or nothing changes for a minute)."""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

from tests.e2e.bot_process import BotProcess
from tests.e2e.burst import outcome
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.openai_server import FakeOpenAI

MEMBERS = int(sys.argv[1]) if len(sys.argv) > 1 else 100
QUIET_S = 60.0  # nothing new from the bot for this long: whoever has heard nothing never will


async def main() -> None:
    model = FakeOpenAI()
    model.default_reply = "An answer in a few words, streamed."
    model.first_token_delay_s = 1.0
    await model.start()
    discord = FakeDiscord()
    await discord.start()
    with tempfile.TemporaryDirectory(prefix="observer-burst-") as tmp:
        bot = BotProcess(Path(tmp), discord, model, env={"OBSERVER_LOG_LEVEL": "WARNING"})
        try:
            await bot.start()
            await asyncio.sleep(3)  # the start-up recovery pass
            people = [discord.add_user(f"member{i}") for i in range(MEMBERS)]
            mention = f"<@{discord.bot['id']}>"
            started = time.monotonic()
            asked = await asyncio.gather(*(discord.send_as(p, f"{mention} a question") for p in people))
            seen, last_change = -1, time.monotonic()
            while True:
                result = outcome(discord, asked)
                shown = sum(len(m.get("_shown", [])) for m in discord.bot_messages())
                if shown != seen:
                    seen, last_change = shown, time.monotonic()
                if result.told_nothing == 0 or time.monotonic() - last_change > QUIET_S:
                    break
                await asyncio.sleep(0.5)
            print(f"{MEMBERS} mentions in one channel (queue {5}, 3 side by side), real `observer run`:")
            print(f"  {result.line()}")
            print(f"  everyone had an answer or a note after {time.monotonic() - started:.1f} s")
            print(f"  bot messages posted: {len(discord.bot_messages())}")
            assert bot.proc is not None
            print(f"  process still running: {bot.proc.returncode is None}")
            for refused in [r for r in discord.requests if r.status == 429][:3]:  # the first few, to see why
                print(f"  429: {refused.method} /{refused.path} at +{refused.at - started:.2f} s")
                near = [r for r in discord.requests if "messages" in r.path and abs(r.at - refused.at) < 5.0]
                print("   nearby: " + ", ".join(f"{r.method}@{r.at - started:.2f}" for r in near))
        finally:
            await bot.stop()
            await discord.stop()
            await model.stop()


if __name__ == "__main__":
    asyncio.run(main())
