"""Observer beside jakobdylanc/llmcord (issue P): the same fake Discord, the same fake model, one run.

Each bot is a real subprocess on its own fake Discord server and its own fake model process (60 tokens,
20 ms to the first, 10 ms apart). Rounds alternate which bot goes first, so machine noise hits both alike.
Per round and bot: 30 sequential mentions over 5 channels, then a burst of 10 concurrent mentions.

    git clone https://github.com/jakobdylanc/llmcord /tmp/llmcord      # never into this repository
    .venv/bin/pip install python-dotenv pyyaml                          # llmcord's two extra needs
    .venv/bin/python -m bench.versus_llmcord /tmp/llmcord [--rounds 5] [--only observer] [--empty-memory]

By default Observer has a memory to search (as in real use: every answer embeds the question and asks
Chroma, which llmcord never does); `--empty-memory` starts it with none, as a new install runs.

Figures: reaction (MESSAGE_CREATE → the bot's first message, minus the model's time to first token as
the model server measured it), MESSAGE_CREATE → request at the model, → final text on Discord, burst
completion, edits per reply, CPU seconds per handled message, peak memory, start → IDENTIFY.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.child_env import user_env
from bench.harness import NO_FLOOD, fake_model_process, percentile
from tests.conftest import models_toml
from tests.fakes.discord_server import FakeDiscord

REPO = Path(__file__).resolve().parent.parent
MARKERS = {"observer": "▌", "llmcord": " ⚪"}
LLMCORD_CONFIG = """\
bot_token_env: DISCORD_BOT_TOKEN
status_message:
max_text: 100000
max_images: 5
max_messages: 25
use_plain_responses: false
allow_dms: true
permissions:
  users: {admin_ids: [], allowed_ids: [], blocked_ids: []}
  roles: {allowed_ids: [], blocked_ids: []}
  channels: {allowed_ids: [], blocked_ids: []}
providers:
  fake: {base_url: "%s"}
models:
  fake/fake-chat:
system_prompt: |
  You are a friendly Discord bot. Today's date is {date}.
"""


@dataclass
class Bot:
    name: str
    discord: FakeDiscord
    model_log: Path
    proc: asyncio.subprocess.Process
    spawned_at: float
    channels: list[dict[str, Any]] = field(default_factory=list)
    identified_s: float = 0.0
    samples: dict[str, list[float]] = field(default_factory=dict)
    cpu_s: float = 0.0
    handled: int = 0
    # CPU spent while the other bot's rounds ran: background work that competes with the next message.
    idle_cpu_s: float = 0.0

    def add(self, figure: str, value: float) -> None:
        self.samples.setdefault(figure, []).append(value)

    def proc_stat(self) -> tuple[float, float]:
        """(CPU seconds so far, peak resident MiB) of the bot process."""
        stat = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        cpu = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        hwm = next(line for line in status.splitlines() if line.startswith("VmHWM"))
        return cpu, int(hwm.split()[1]) / 1024


async def start_bot(
    name: str, llmcord_dir: Path, tmp: Path, stack: contextlib.AsyncExitStack, seed_memory: bool = True
) -> Bot:
    d = FakeDiscord()
    await d.start()
    for i in range(4):
        d.add_channel(f"bench{i}")
    log = tmp / f"{name}-model.jsonl"
    url = await stack.enter_async_context(
        fake_model_process(first_token_delay_s=0.02, token_delay_s=0.01, reply_words=60, request_log=log)
    )
    env = user_env()
    env["PYTHONUNBUFFERED"] = "1"
    home = tmp / name
    home.mkdir()
    if name == "observer":
        (home / "observer.toml").write_text(NO_FLOOD + models_toml(url))
        env.update(
            DISCORD_TOKEN="fake-token",
            OBSERVER_DATA_DIR=str(home / "data"),
            OBSERVER_CONFIG=str(home / "observer.toml"),
            OBSERVER_DISCORD_API_BASE=d.api_base,
            OBSERVER_DISCORD_GATEWAY_URL=d.gateway_url,
        )
        env["PYTHONPATH"] = str(REPO)
        # A memory to search, so every answer pays for the embedding and retrieval it makes in real use;
        # or none, with the database made (migrated) all the same: both measure a restart, not an install.
        setup = ["persona", "ingest", str(REPO / "tests" / "data" / "memory")] if seed_memory else ["db", "upgrade"]
        prepared = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "command_line", *setup, cwd=home, env=env, stdout=asyncio.subprocess.DEVNULL
        )
        if await prepared.wait() != 0:
            raise SystemExit(f"observer {' '.join(setup[:2])} failed")
        command = [sys.executable, "-m", "command_line", "run"]
    else:
        shutil.copy(llmcord_dir / "llmcord.py", home / "llmcord.py")
        (home / "config.yaml").write_text(LLMCORD_CONFIG % url)
        env.update(DISCORD_BOT_TOKEN="fake-token", FAKE_DISCORD_API=d.api_base, FAKE_DISCORD_GATEWAY=d.gateway_url)
        env["PYTHONPATH"] = str(REPO)
        command = [sys.executable, "-m", "bench.pointed", "llmcord.py"]
    spawned = time.monotonic()
    with (home / "bot.log").open("wb") as out:
        proc = await asyncio.create_subprocess_exec(*command, cwd=home, env=env, stdout=out, stderr=out)
    bot = Bot(name, d, log, proc, spawned, channels=list(d.channels.values()))
    while d.identifies == 0:
        if proc.returncode is not None:
            raise SystemExit(f"{name} exited:\n{(home / 'bot.log').read_text()[-3000:]}")
        await asyncio.sleep(0.005)
    bot.identified_s = time.monotonic() - spawned
    print(f"{name}: pid {proc.pid}", flush=True)
    return bot


def shown_complete_at(bot: Bot, question: dict[str, Any]) -> tuple[float, float] | None:
    """(first bot message posted, final text on screen) for the answer to `question`, once complete."""
    store = bot.discord.messages[question["channel_id"]]
    parts = [
        m for m in store.values() if m["author"]["id"] == bot.discord.bot["id"] and int(m["id"]) > int(question["id"])
    ]
    first = [m for m in parts if (m.get("message_reference") or {}).get("message_id") == question["id"]]
    if not first:
        return None
    mine = [m for m in parts if int(m["id"]) >= int(first[0]["id"])]
    marker = MARKERS[bot.name]
    done_at = []
    for m in mine:
        done = [t for t, text in m["_shown"] if text and marker not in text]
        if not done or marker in (m["_shown"][-1][1] or marker):
            return None
        done_at.append(done[0])
    return first[0]["_posted_at"], max(done_at)


def model_times(bot: Bot) -> dict[str, tuple[float, float]]:
    """Tag → (request arrived at the model, first token sent), from the model process's log."""
    out: dict[str, tuple[float, float]] = {}
    if not bot.model_log.exists():
        return out
    for line in bot.model_log.read_text().splitlines():
        row = json.loads(line)
        text = json.loads(row["last_user"])
        for word in str(text).split():
            if word.startswith("tag-"):
                out[word] = (row["arrived"], row["first_token"])
    return out


async def ask(bot: Bot, person: dict[str, Any], tag: str, channel: dict[str, Any]) -> tuple[str, dict[str, Any], float]:
    sent = time.monotonic()
    mention = f"<@{bot.discord.bot['id']}>"
    msg = await bot.discord.send_as(person, f"{mention} what do you think about {tag} today?", channel=channel)
    return tag, msg, sent


async def until_answered(bot: Bot, asked: list[tuple[str, dict[str, Any], float]]) -> list[tuple[float, float]]:
    while True:
        found = [shown_complete_at(bot, msg) for _, msg, _ in asked]
        if all(found):
            return [f for f in found if f is not None]
        if bot.proc.returncode is not None:
            raise SystemExit(f"{bot.name} exited with {bot.proc.returncode}")
        await asyncio.sleep(0.005)


def record(
    bot: Bot, asked: list[tuple[str, dict[str, Any], float]], shown: list[tuple[float, float]], kind: str
) -> None:
    times = model_times(bot)
    for (tag, msg, sent), (first_post, done) in zip(asked, shown, strict=True):
        arrived, first_token = times[tag]
        for figure in ("", f" ({kind})"):
            bot.add("reaction" + figure, (first_post - sent - (first_token - arrived)) * 1000)
            bot.add("to model" + figure, (arrived - sent) * 1000)
            bot.add("final text" + figure, (done - sent) * 1000)
        store = bot.discord.messages[msg["channel_id"]]
        bot.add(
            "edits",
            sum(
                len(m.get("_edits", []))
                for m in store.values()
                if int(m["id"]) > int(msg["id"]) and m["author"]["id"] == bot.discord.bot["id"]
            ),
        )


async def round_for(bot: Bot, people: list[dict[str, Any]], round_no: int, sequential: int, burst: int) -> None:
    cpu_before, _ = bot.proc_stat()
    for i in range(sequential):
        asked = [await ask(bot, people[0], f"tag-{round_no}s{i}", bot.channels[i % 5])]
        record(bot, asked, await until_answered(bot, asked), "sequential")
        await asyncio.sleep(0.05)
    # The burst starts with each channel's post-and-edit budget refilled, so it measures concurrency,
    # not the sequential phase's spent budget.
    await asyncio.sleep(5)
    started = time.monotonic()
    asked = list(
        await asyncio.gather(
            *(ask(bot, people[i % len(people)], f"tag-{round_no}b{i}", bot.channels[i % 5]) for i in range(burst))
        )
    )
    shown = await until_answered(bot, asked)
    bot.add("burst complete", (max(done for _, done in shown) - started) * 1000)
    record(bot, asked, shown, "burst")
    cpu_after, _ = bot.proc_stat()
    bot.cpu_s += cpu_after - cpu_before
    bot.handled += sequential + burst
    # Let each channel's post-and-edit budget refill so no round inherits the last one's wait.
    await asyncio.sleep(5)


def report(bots: list[Bot]) -> None:
    print(f"\n{'figure':44}" + "".join(f"{b.name:>28}" for b in bots))
    figures = [f"{f}{k}" for f in ("reaction", "to model", "final text") for k in ("", " (sequential)", " (burst)")]
    for figure in [*figures, "burst complete"]:
        cells = []
        for b in bots:
            v = b.samples.get(figure, [])
            cells.append(f"{percentile(v, 50):7.0f} /{percentile(v, 90):6.0f} /{percentile(v, 99):6.0f} ms")
        print(f"{figure + ' p50 / p90 / p99':44}" + "".join(f"{c:>28}" for c in cells))
    print(
        f"{'edits per reply (mean)':44}"
        + "".join(f"{sum(b.samples['edits']) / len(b.samples['edits']):>28.2f}" for b in bots)
    )
    print(f"{'CPU seconds per handled message':44}" + "".join(f"{b.cpu_s / b.handled * 1000:>25.1f} ms" for b in bots))
    print(f"{'CPU seconds while the other bot ran':44}" + "".join(f"{b.idle_cpu_s:>26.1f} s" for b in bots))
    print(f"{'peak memory':44}" + "".join(f"{b.proc_stat()[1]:>24.0f} MiB" for b in bots))
    print(f"{'start → IDENTIFY':44}" + "".join(f"{b.identified_s:>26.2f} s" for b in bots))
    print(f"{'HTTP 429 responses':44}" + "".join(f"{b.discord.status_429:>28}" for b in bots))


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("llmcord", type=Path, nargs="?", help="a clone of jakobdylanc/llmcord")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sequential", type=int, default=30)
    parser.add_argument("--burst", type=int, default=10)
    parser.add_argument("--only", choices=["observer", "llmcord"])
    parser.add_argument("--empty-memory", action="store_true", help="start Observer with nothing to search")
    parser.add_argument("--logs", type=Path, help="copy each bot's log and model request log here")
    a = parser.parse_args()
    names = [a.only] if a.only else ["observer", "llmcord"]
    if "llmcord" in names and (a.llmcord is None or not (a.llmcord / "llmcord.py").exists()):
        raise SystemExit("give the folder of a jakobdylanc/llmcord clone (or --only observer)")
    with tempfile.TemporaryDirectory(prefix="observer-versus-") as tmp:
        async with contextlib.AsyncExitStack() as models:  # the fake-model processes, stopped last
            await race(a, names, Path(tmp), models)


async def race(a: argparse.Namespace, names: list[str], tmp: Path, models: contextlib.AsyncExitStack) -> None:
    bots = [await start_bot(name, a.llmcord, tmp, models, seed_memory=not a.empty_memory) for name in names]
    try:
        # Ten members: a member who asks twice in one channel before the answer gets one answer.
        people = {b.name: [b.discord.add_user(f"asker{i}") for i in range(10)] for b in bots}
        for b in bots:  # warm-up: imports, caches, the first connection to the model
            await until_answered(b, [await ask(b, people[b.name][0], "tag-warm", b.channels[0])])
            await asyncio.sleep(5)
        for r in range(a.rounds):
            for b in bots if r % 2 == 0 else bots[::-1]:
                others = {o.name: o.proc_stat()[0] for o in bots if o is not b}
                await round_for(b, people[b.name], r, a.sequential, a.burst)
                for o in bots:
                    o.idle_cpu_s += o.proc_stat()[0] - others[o.name] if o.name in others else 0.0
        report(bots)
    finally:
        for b in bots:
            if b.proc.returncode is None:
                b.proc.terminate()
                await b.proc.wait()
            if a.logs:
                a.logs.mkdir(parents=True, exist_ok=True)
                shutil.copy(tmp / b.name / "bot.log", a.logs / f"{b.name}.log")
                shutil.copy(b.model_log, a.logs / f"{b.name}-model.jsonl")
            await b.discord.stop()


if __name__ == "__main__":
    asyncio.run(main())
