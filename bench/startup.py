"""How fast does Observer start? The console, `observer chat --once "@Observer hi"`, cold and warm,
remote and bundled; and the bot, `observer run`, from spawn to IDENTIFY on a fake Discord, and from a
restart after `kill -9` mid-answer to that answer.

Cold: a fresh data dir (migrations, Chroma files, the bundled model assembled and verified). Warm: the
same data dir again, each run in a new channel; then again in one channel (a console user's next question,
where a local model's prompt cache holds the whole last prompt). For each console run: wall time from spawn to exit, and to the first token on
stdout. Also the bare import of the command (what every run pays before doing anything).

    .venv/bin/python -m bench.startup [--warm 3] [--skip-bundled] [--skip-bot]

Prints figures; never fails on them.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.child_env import user_env
from tests.fakes.openai_server import FakeOpenAI

ROOT = Path(__file__).resolve().parents[1]


async def once(
    data_dir: Path, config: Path | None, channel: str, text: str = "@Observer hi"
) -> tuple[float, float | None, str]:
    """Wall seconds to exit, seconds to the first token of the reply, and what it printed. Each run in a
    channel of its own: a start, not a channel's growing history, is what is measured."""
    env = user_env()
    env.update(OBSERVER_DATA_DIR=str(data_dir), PYTHONPATH=str(ROOT))
    if config is not None:
        env["OBSERVER_CONFIG"] = str(config)
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "command_line",
        "chat",
        "--once",
        text,
        "--channel",
        channel,
        cwd=data_dir.parent,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    out = b""
    first: float | None = None
    while chunk := await proc.stdout.read(64):
        out += chunk
        if first is None and b": " in out and out.split(b": ", 1)[1].strip():
            first = time.perf_counter() - started
    await proc.wait()
    return time.perf_counter() - started, first, out.decode(errors="replace").strip()


def import_seconds() -> float:
    import subprocess

    runs = []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import command_line.main"], cwd=ROOT, check=True)
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


async def series(label: str, config_text: str | None, warm: int) -> None:
    with tempfile.TemporaryDirectory(prefix="observer-start-") as tmp:
        data = Path(tmp) / "data"
        config = None
        if config_text is not None:
            config = Path(tmp) / "observer.toml"
            config.write_text(config_text)
        cold, cold_first, said = await once(data, config, "start-0")
        runs = [await once(data, config, f"start-{n}") for n in range(1, warm + 1)]
        walls = [r[0] for r in runs]
        firsts = [r[1] for r in runs if r[1] is not None]
        print(f"{label}: cold {cold:.1f} s (first token {cold_first or float('nan'):.1f} s)")
        print(
            f"{label}: warm p50 {statistics.median(walls):.1f} s, first token p50 "
            f"{statistics.median(firsts) if firsts else float('nan'):.1f} s  [{said[:60]!r}]"
        )
        # A console user's next question: the same channel, so a local model's prompt cache holds all
        # of the last prompt (each run above is in a channel of its own: only the system prompt's start).
        again = [await once(data, config, "start-same", f"@Observer hi {n}") for n in range(warm + 1)][1:]
        firsts = [r[1] for r in again if r[1] is not None]
        print(
            f"{label}: warm, same channel again: p50 {statistics.median(r[0] for r in again):.1f} s, first token "
            f"p50 {statistics.median(firsts) if firsts else float('nan'):.1f} s"
        )


async def bot_series(warm: int) -> None:
    """`observer run` with a remote model: spawn → IDENTIFY (cold, then warm restarts), then `kill -9`
    while it answers a mention and restart → that answer on Discord."""
    from tests.e2e.bot_process import BotProcess
    from tests.fakes.discord_server import FakeDiscord

    discord, model = FakeDiscord(), FakeOpenAI(first_token_delay_s=2.0, token_delay_s=0.01)
    await discord.start()
    await model.start()
    try:
        with tempfile.TemporaryDirectory(prefix="observer-start-bot-") as tmp:
            bot = BotProcess(Path(tmp), discord, model)
            identify = []
            for _ in range(warm + 1):
                started = time.perf_counter()
                await bot.start()
                identify.append(time.perf_counter() - started)
                await bot.terminate()
            print(
                f"observer run, spawn → IDENTIFY: cold {identify[0]:.1f} s, warm p50 "
                f"{statistics.median(identify[1:]):.1f} s"
            )
            resumed = []
            for n in range(warm):
                await bot.start()
                asked = len(model.requests)
                question = await discord.send_as(discord.add_user(f"asker{n}"), f"<@{discord.bot['id']}> hi {n}")
                await bot.wait_until(lambda a=asked: len(model.requests) > a, "the model was never asked")
                await bot.kill9()
                started = time.perf_counter()
                await bot.start()
                await bot.wait_until(lambda q=question: bot.answered(q), "the question was never answered")
                resumed.append(time.perf_counter() - started)
                await bot.terminate()
            print(
                f"observer run, restart after kill -9 mid-answer → that answer (model: 2 s to its first token): "
                f"p50 {statistics.median(resumed):.1f} s"
            )
    finally:
        await model.stop()
        await discord.stop()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--warm", type=int, default=3)
    parser.add_argument("--skip-bundled", action="store_true")
    parser.add_argument("--skip-bot", action="store_true")
    args = parser.parse_args()
    print(f"import command_line.main: {import_seconds():.2f} s (p50 of 3)")
    model = FakeOpenAI()
    url = await model.start()
    try:
        remote = f'[[models]]\nname = "chat"\nmodel = "fake"\nbase_url = "{url}"\ncontext_window = 8192\n'
        await series("remote model", remote, args.warm)
        if not args.skip_bundled:
            await series("bundled model", None, args.warm)
    finally:
        await model.stop()
    if not args.skip_bot:
        await bot_series(args.warm)


if __name__ == "__main__":
    asyncio.run(main())
