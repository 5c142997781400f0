"""`observer run`: the bot, on Discord or any Discord-compatible server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import Any

import discord
import yarl
from discord.gateway import DiscordWebSocket

from agent.errors import ConfigError
from agent.memory.checkpoints import open_checkpointer
from agent.services import Services, build_services
from agent.settings import Settings
from discord_adapter.client import ObserverBot
from discord_adapter.commands import register_all
from discord_adapter.gateway_close import fatal_close_error

log = logging.getLogger(__name__)


def point_at(settings: Settings, bot: discord.Client | None = None) -> None:
    """Aim discord.py at the configured REST base and gateway (a self-hosted server, or the tests' fake)."""
    if settings.discord_api_base:
        discord.http.Route.BASE = settings.discord_api_base.rstrip("/")
    gateway = settings.discord_gateway_url
    if gateway:
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway)
        # Only asked for when OBSERVER_SHARD_COUNT is unset (discord.py then takes Discord's count from
        # /gateway/bot); with a fixed count discord.py connects to DEFAULT_GATEWAY, set just above.
        if bot is not None:
            original = bot.http.get_bot_gateway

            async def gateway_from_settings() -> Any:
                shards, _, limits = await original()
                return shards, gateway, limits

            bot.http.get_bot_gateway = gateway_from_settings  # type: ignore[method-assign]


def create_bot(services: Services, checkpointer: Any = None) -> ObserverBot:
    """The client with its slash commands, pointed where the settings say (Discord, or a test double)."""
    bot = ObserverBot(services, checkpointer=checkpointer)
    register_all(bot)
    point_at(services.settings, bot)
    return bot


async def run_bot(settings: Settings) -> int:
    if settings.discord_token is None or not settings.discord_token.get_secret_value().strip():
        raise ConfigError("DISCORD_TOKEN: not set; create a bot in the Discord Developer Portal and export its token")
    services = await build_services(settings, answering=True)
    try:
        async with open_checkpointer(settings) as checkpointer:
            bot = create_bot(services, checkpointer)
            await _run_until_stopped(bot, settings)
    finally:
        await services.close()
    return 0


async def _run_until_stopped(bot: ObserverBot, settings: Settings) -> None:
    """Run the bot; SIGTERM or SIGINT drains it (replies in flight finish, writes are flushed) and returns."""
    assert settings.discord_token is not None
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):  # Windows
            loop.add_signal_handler(signum, stopping.set)
    runner = asyncio.create_task(bot.start(settings.discord_token.get_secret_value()))
    stop = asyncio.create_task(stopping.wait())
    try:
        await asyncio.wait({runner, stop}, return_when=asyncio.FIRST_COMPLETED)
        if runner.done():
            runner.result()  # start-up failed (bad token, intents): raise it
        else:
            await bot.shutdown(settings.shutdown_grace_seconds)
    except discord.LoginFailure:
        raise ConfigError(
            "DISCORD_TOKEN: Discord rejected the token; copy it again from the Developer Portal"
        ) from None
    except (discord.PrivilegedIntentsRequired, discord.ConnectionClosed) as exc:
        # A close Discord will not take back; `bot.close` drained first, like SIGTERM. One line, exit 2.
        raise (fatal_close_error(exc) or exc) from None
    finally:
        stop.cancel()
        await bot.close()
        runner.cancel()
        with contextlib.suppress(BaseException):
            await runner
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError):
                loop.remove_signal_handler(signum)
