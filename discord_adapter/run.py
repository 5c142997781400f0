"""`observer run`: the bot, on Discord or any Discord-compatible server."""

from __future__ import annotations

import logging
from typing import Any

import discord
import yarl
from discord.gateway import DiscordWebSocket

from agent.errors import ConfigError
from agent.services import build_services
from agent.settings import Settings
from discord_adapter.client import ObserverBot

log = logging.getLogger(__name__)


def point_at(settings: Settings, bot: discord.Client | None = None) -> None:
    """Aim discord.py at the configured REST base and gateway (a self-hosted server, or the tests' fake)."""
    if settings.discord_api_base:
        discord.http.Route.BASE = settings.discord_api_base.rstrip("/")
    gateway = settings.discord_gateway_url
    if gateway:
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway)
        if bot is not None:
            original = bot.http.get_bot_gateway

            async def gateway_from_settings() -> Any:
                shards, _, limits = await original()
                return shards, gateway, limits

            bot.http.get_bot_gateway = gateway_from_settings  # type: ignore[method-assign]


async def run_bot(settings: Settings) -> int:
    if settings.discord_token is None or not settings.discord_token.get_secret_value().strip():
        raise ConfigError("DISCORD_TOKEN: not set; create a bot in the Discord Developer Portal and export its token")
    services = await build_services(settings)
    bot = ObserverBot(services)
    point_at(settings, bot)
    try:
        await bot.start(settings.discord_token.get_secret_value())
    except discord.LoginFailure:
        raise ConfigError(
            "DISCORD_TOKEN: Discord rejected the token; copy it again from the Developer Portal"
        ) from None
    except discord.PrivilegedIntentsRequired:
        raise ConfigError(
            "DISCORD_TOKEN: the Message Content intent is off for this bot; enable it under Bot → "
            "Privileged Gateway Intents in the Developer Portal"
        ) from None
    finally:
        await bot.close()
        await services.close()
    return 0
