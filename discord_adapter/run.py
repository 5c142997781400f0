"""`observer run`: the bot, on Discord or any Discord-compatible server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import Any

import aiohttp
import discord
import yarl
from discord.gateway import DiscordWebSocket

from agent.errors import ConfigError
from agent.health_file import health_path, remove_health
from agent.memory.checkpoints import open_checkpointer
from agent.memory.processes import Me, Processes
from agent.schedules.scheduler import ReminderScheduler
from agent.services import Services, build_services
from agent.settings import Settings
from discord_adapter.client import ObserverBot
from discord_adapter.commands import register_all
from discord_adapter.gateway_close import fatal_close_error
from discord_adapter.health_writer import HealthWriter
from discord_adapter.reminders import ReminderDesk, ReminderRunner
from discord_adapter.shard_control import BotShards
from discord_adapter.shard_keeper import ShardKeeper
from discord_adapter.training import run_training

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


def create_bot(services: Services, checkpointer: Any = None, me: Me | None = None, **options: Any) -> ObserverBot:
    """The client with its slash commands, pointed where the settings say (Discord, or a test double)."""
    bot = ObserverBot(services, checkpointer=checkpointer, me=me, **options)
    register_all(bot)
    point_at(services.settings, bot)
    return bot


async def run_bot(settings: Settings) -> int:
    if settings.discord_token is None or not settings.discord_token.get_secret_value().strip():
        raise ConfigError(
            "DISCORD_TOKEN: not set; create a bot in the Discord Developer Portal and set DISCORD_TOKEN "
            "to its token (or DISCORD_TOKEN_FILE to a file holding it, such as a compose secret)"
        )
    services = await build_services(settings, answering=True)
    try:
        async with open_checkpointer(settings) as checkpointer:
            me = Me()
            processes = Processes(services.record.engine, me, settings.process_lease_seconds)
            layout = "auto" if settings.shard_ids == "auto" else "fixed" if settings.shard_count else "all"
            keeper = ShardKeeper(processes, layout, settings.shard_count)
            options: dict[str, Any] = {}
            try:
                if layout == "auto":  # start with the shards whose leases this process won
                    options["shard_ids"] = await keeper.first_shards()
                keeper.begin()
                bot = create_bot(services, checkpointer, me, **options)
                keeper.fixed = lambda: set(bot.shards)
                shards = BotShards(bot, bot)
                for shard_id in options.get("shard_ids", ()):
                    bot.shard_hold.taken_over(shard_id, 2 * settings.process_lease_seconds)
                keeper.attach(shards, bot.launched.wait)
                bot.budget.fence = keeper
                reminders = ReminderRunner(
                    bot,
                    bot.launched.wait,
                    ReminderScheduler(
                        services.reminders, data_dir=settings.data_dir, grace=settings.reminder_grace, holder=me.id
                    ),
                    ReminderDesk(bot, bot.replier, bot.budget),
                )
                reminders.begin()

                async def connected() -> None:
                    await bot.launched.wait()
                    await bot.wait_until_ready()

                training = asyncio.create_task(run_training(bot.training, connected), name="training jobs")
                try:
                    await _run_until_stopped(bot, settings)
                finally:
                    training.cancel()
                    await asyncio.gather(training, return_exceptions=True)
                    await reminders.stop()
            finally:
                await keeper.stop()
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
    health = HealthWriter(bot, health_path(settings.data_dir, settings.health_file))
    health_task = asyncio.create_task(health.run())
    try:
        await asyncio.wait({runner, stop}, return_when=asyncio.FIRST_COMPLETED)
        if runner.done():
            runner.result()  # start-up failed (bad token, intents): raise it
        else:
            health_task.cancel()
            health.stopping()
            await bot.shutdown(settings.shutdown_grace_seconds)
    except aiohttp.ClientConnectorError as exc:
        # No network or DNS yet (a VPS at boot, a container before its network): one line, not a traceback.
        raise ConfigError(
            f"cannot reach Discord at {exc.host}:{exc.port} ({exc.os_error.strerror or exc.os_error}); "
            "check this machine's network and DNS (or OBSERVER_DISCORD_API_BASE)"
        ) from None
    except discord.LoginFailure:
        raise ConfigError(
            "DISCORD_TOKEN: Discord rejected the token; copy it again from the Developer Portal"
        ) from None
    except (discord.PrivilegedIntentsRequired, discord.ConnectionClosed) as exc:
        # A close Discord will not take back; `bot.close` drained first, like SIGTERM. One line, exit 2.
        raise (fatal_close_error(exc) or exc) from None
    finally:
        stop.cancel()
        health_task.cancel()
        remove_health(health_path(settings.data_dir, settings.health_file))
        await bot.close()
        runner.cancel()
        with contextlib.suppress(BaseException):
            await runner
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError):
                loop.remove_signal_handler(signum)
