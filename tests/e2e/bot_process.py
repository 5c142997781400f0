"""`observer run` as a real subprocess against the fake Discord and fake model in the test process, so
tests can kill it for real (`kill -9`) or stop it (SIGTERM) and start it again on the same data."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.fakes.discord_server import FakeDiscord
from tests.fakes.openai_server import FakeOpenAI

# Guards against a bot that never answers at all; never a speed requirement (a slow machine waits longer).
GUARD_S = float(os.environ.get("TEST_GUARD_S", "600"))
IN_PROGRESS = "▌"


@dataclass
class BotProcess:
    tmp: Path
    discord: FakeDiscord
    model: FakeOpenAI
    env: dict[str, str] = field(default_factory=dict)
    extra_toml: str = ""  # appended to the model list (tools, MCP servers)
    proc: asyncio.subprocess.Process | None = None
    starts: int = 0

    def log_path(self) -> Path:
        return self.tmp / f"bot-{self.starts}.log"

    def logs(self) -> str:
        return "".join(
            (self.tmp / f"bot-{n}.log").read_text(errors="replace")
            for n in range(1, self.starts + 1)
            if (self.tmp / f"bot-{n}.log").exists()
        )

    async def start(self) -> None:
        """Start the bot and wait until every shard it holds has identified on the gateway (a message
        sent to a shard not yet connected is, as on Discord, never delivered)."""
        (self.tmp / "observer.toml").write_text(self.models_toml())
        env = {k: v for k, v in os.environ.items() if not k.startswith("OBSERVER_") and k != "DISCORD_TOKEN"}
        env.update(
            DISCORD_TOKEN="fake-token",
            OBSERVER_DATA_DIR=str(self.tmp / "data"),
            OBSERVER_CONFIG=str(self.tmp / "observer.toml"),
            OBSERVER_DISCORD_API_BASE=self.discord.api_base,
            OBSERVER_DISCORD_GATEWAY_URL=self.discord.gateway_url,
            OBSERVER_DEV_GUILD_ID=self.discord.guild_id,
            OBSERVER_LOG_LEVEL="INFO",
            OBSERVER_PROFILE_EVERY_N="0",
            PYTHONUNBUFFERED="1",
        )
        env.update(self.env)
        held = self.held_shards()
        identified = {shard: self.discord.shard_links[shard].identifies for shard in held}
        self.starts += 1
        with self.log_path().open("wb") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "command_line", "run", stdout=log, stderr=log, cwd=self.tmp, env=env
            )
        await self.wait_until(
            lambda: all(self.discord.shard_links[s].identifies > n for s, n in identified.items()),
            "the bot never identified",
        )
        if self.env.get("OBSERVER_SHARD_IDS") == "auto":  # which shards it gets is the database's call
            log = self.log_path()
            await self.wait_until(lambda: "holding shards" in log.read_text(errors="replace"), "it never held a shard")

    def held_shards(self) -> list[int]:
        """The shards this process connects: OBSERVER_SHARD_IDS when set, else all of the fake's."""
        from agent.settings import parse_shard_ids

        ids = self.env.get("OBSERVER_SHARD_IDS")
        if ids == "auto":
            return []
        return parse_shard_ids(ids) if ids else list(range(self.discord.shard_count))

    def models_toml(self) -> str:
        from tests.conftest import models_toml

        return models_toml(self.model.base_url) + self.extra_toml

    async def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def terminate(self) -> int:
        """SIGTERM, and the exit code once it has drained."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.proc.wait(), GUARD_S)

    async def wait_until(self, check: Any, why: str = "condition not met") -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + GUARD_S
        while not check():
            if self.proc is not None and self.proc.returncode is not None and self.proc.returncode != 0:
                raise AssertionError(f"the bot exited with {self.proc.returncode}:\n{self.logs()[-3000:]}")
            if loop.time() > deadline:
                raise AssertionError(f"{why}\n{self.logs()[-3000:]}")
            await asyncio.sleep(0.05)

    # ----- what the bot wrote on the fake Discord -----
    def replies_to(self, msg: dict[str, Any]) -> list[dict[str, Any]]:
        """The bot's messages that reply to `msg` (the first part of each answer)."""
        return [
            m for m in self.discord.bot_messages() if (m.get("message_reference") or {}).get("message_id") == msg["id"]
        ]

    def answered(self, msg: dict[str, Any], text: str | None = None) -> bool:
        """`msg` has a finished answer (no in-progress marker), with `text` when given."""
        replies = self.replies_to(msg)
        if not replies or IN_PROGRESS in replies[-1]["content"]:
            return False
        return text is None or replies[-1]["content"] == text

    def streaming(self, msg: dict[str, Any], words: int = 2) -> bool:
        """The answer to `msg` is on screen, half written."""
        replies = self.replies_to(msg)
        return bool(replies) and IN_PROGRESS in replies[-1]["content"] and len(replies[-1]["content"].split()) > words

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            await self.kill9()
