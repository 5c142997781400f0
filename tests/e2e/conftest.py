"""The real discord.py client, connected to the fake Discord server on loopback."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agent.services import Services
from agent.settings import Settings
from discord_adapter.client import ObserverBot
from discord_adapter.run import create_bot
from tests.conftest import models_toml
from tests.fakes.discord_server import GUARD_S, FakeDiscord
from tests.fakes.openai_server import FakeOpenAI


@dataclass
class Harness:
    discord: FakeDiscord
    model: FakeOpenAI
    bot: ObserverBot
    services: Services

    def mention(self) -> str:
        return f"<@{self.discord.bot['id']}>"

    def _received_everything(self) -> bool:
        return all(
            (self.bot._get_websocket(shard_id=shard_id).sequence or 0) >= self.discord.last_seq
            for shard_id in self.bot.shards
        )

    async def settle(self) -> None:
        """Wait until the bot has received every event sent so far, answered it, and committed its writes."""
        while True:
            seq = self.discord.last_seq
            await self.discord.wait_until(self._received_everything)
            await asyncio.sleep(0.05)  # let discord.py run its event handlers
            await self.bot.queues.drain()
            await self.bot.busy_notes.drain()
            await self.services.record.flush()
            if self.discord.last_seq == seq and self._received_everything():
                return


async def start_harness(
    tmp_path: Path, embedder: Any, fake_openai: FakeOpenAI, toml_extra: str = "", **settings: Any
) -> AsyncIterator[Harness]:
    from agent.services import build_services

    fake = FakeDiscord()
    await fake.start()
    config = tmp_path / "observer.toml"
    # Room for the long answers the splitting tests ask for (the fake server honours max_tokens).
    config.write_text(toml_extra + models_toml(fake_openai.base_url, max_output_tokens=4096, context_window=16384))
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "config": config,
        "discord_api_base": fake.api_base,
        "discord_gateway_url": fake.gateway_url,
        "dev_guild_id": int(fake.guild_id),
        "edit_interval_seconds": 1.0,
    }
    values.update(settings)
    svc = await build_services(Settings(_env_file=None, **values), embedder=embedder)  # type: ignore[call-arg]
    bot = create_bot(svc)
    task = asyncio.create_task(bot.start("fake-token"))
    try:
        ready = asyncio.create_task(bot.wait_until_ready())
        await asyncio.wait({ready, task}, timeout=GUARD_S, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()  # the bot stopped during start-up: show why
        if not ready.done():
            raise TimeoutError("the bot did not become ready")
        await fake.wait_until(lambda: fake.guild_id in fake.commands)
        yield Harness(fake, fake_openai, bot, svc)
    finally:
        await bot.close()
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        await svc.close()
        await fake.stop()


@pytest.fixture
async def harness(tmp_path: Path, embedder: Any, fake_openai: FakeOpenAI) -> AsyncIterator[Harness]:
    async for h in start_harness(tmp_path, embedder, fake_openai):
        yield h
