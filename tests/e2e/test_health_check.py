"""`observer health` (the container's HEALTHCHECK) against the real `observer run` on the fake Discord."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.e2e.bot_process import GUARD_S, BotProcess
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.openai_server import FakeOpenAI


async def observer_health(data_dir: Path) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OBSERVER_")}
    env["OBSERVER_DATA_DIR"] = str(data_dir)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "command_line", "health", env=env, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def test_healthy_while_connected_and_not_after_a_clean_stop(
    tmp_path: Path, discord: FakeDiscord, fake_openai: FakeOpenAI
):
    bot = BotProcess(tmp_path, discord, fake_openai)
    try:
        code, out = await observer_health(tmp_path / "data")
        assert code == 1 and "not running" in out
        await bot.start()
        deadline = asyncio.get_running_loop().time() + GUARD_S
        while (result := await observer_health(tmp_path / "data"))[0] != 0:
            assert asyncio.get_running_loop().time() < deadline, f"never healthy: {result[1]}\n{bot.logs()[-2000:]}"
            await asyncio.sleep(0.5)
        assert result[1].startswith("connected: shards [0]")
        assert await bot.terminate() == 0
        code, out = await observer_health(tmp_path / "data")
        assert code == 1 and "not running" in out, "a stopped bot is not healthy"
    finally:
        await bot.stop()


async def test_discord_unreachable_at_start_is_one_line_not_a_traceback(tmp_path: Path):
    """A VPS whose network or DNS is not up yet (a container restarted every few seconds by its policy)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OBSERVER_")}
    env.update(
        DISCORD_TOKEN="fake-token",
        OBSERVER_DATA_DIR=str(tmp_path / "data"),
        OBSERVER_DISCORD_API_BASE="http://discord.invalid/api/v10",  # .invalid never resolves (RFC 2606)
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "command_line", "run", env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(proc.communicate(), GUARD_S)
    text = err.decode()
    assert proc.returncode == 2, text
    assert "cannot reach Discord at discord.invalid:80" in text and "Traceback" not in text, text
    assert not list((tmp_path / "data").glob("models/*.partial")), "no half-built model left behind"
