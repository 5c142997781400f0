"""`/ping` and `/health`: single commands, each made for the running bot (`tree.add_command`)."""

from __future__ import annotations

import logging
import platform
from typing import Any

import discord
from discord import app_commands

from agent.process_status import process_lines
from agent.tools.describe import server_lines
from discord_adapter.commands.common import package_version
from discord_adapter.commands.host import CommandHost
from discord_adapter.replies import reply

log = logging.getLogger(__name__)


# Processes listed by /health; `observer status` lists every one.
MOST_PROCESSES = 12


async def _processes(bot: CommandHost) -> list[str]:
    try:
        now, rows = await bot.processes.rows()
    except Exception as exc:  # the database is down: say so, the rest of /health still helps
        return [f"processes: unknown ({type(exc).__name__} reading the database)"]
    lines = process_lines(now, rows[:MOST_PROCESSES], bot.me, bot.processes.lease_seconds)
    more = f" ({len(rows) - MOST_PROCESSES} more: `observer status`)" if len(rows) > MOST_PROCESSES else ""
    return [f"processes: {len(rows)}{more}", *(f"  {line}" for line in lines)]


def ping_command(bot: CommandHost) -> app_commands.Command[Any, ..., None]:
    @app_commands.command(name="ping", description="Is Observer alive?")
    async def ping(interaction: discord.Interaction) -> None:
        await reply(interaction, f"pong ({bot.latency * 1000:.0f} ms gateway latency)")

    return ping


def health_command(bot: CommandHost) -> app_commands.Command[Any, ..., None]:
    @app_commands.command(name="health", description="Uptime, guilds, queues, models, versions")
    async def health(interaction: discord.Interaction) -> None:
        depths = bot.queues.depths()
        hours, rest = divmod(int(bot.uptime()), 3600)
        lines = [
            f"uptime: {hours}h {rest // 60}m",
            f"guilds: {len(bot.guilds)}",
            f"queues: {sum(depths.values())} waiting in {len(depths)} channel(s)",
            f"models: {', '.join(bot.services.registry.names)}",
            *server_lines(bot.services.toolbox.hub),
            *await _processes(bot),
            f"versions: observer {package_version('observer-bot')}, discord.py {discord.__version__}, "
            f"langgraph {package_version('langgraph')}, python {platform.python_version()}",
        ]
        await reply(interaction, "\n".join(lines))

    return health
