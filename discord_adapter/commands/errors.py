"""One answer for every slash command that fails: permissions, DMs, bad input, bugs."""

from __future__ import annotations

import logging

import discord
from discord import app_commands

from agent.redact import redact
from discord_adapter.commands.host import CommandHost
from discord_adapter.replies import reply

log = logging.getLogger(__name__)


def register_error_handler(bot: CommandHost) -> None:
    tree = bot.tree

    @tree.error
    async def on_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        if isinstance(error, app_commands.MissingPermissions):
            text = "You need the Manage Server permission (or one of Observer's admin roles) to change its settings."
        elif isinstance(error, app_commands.NoPrivateMessage):
            text = "That command only works in a server."
        elif isinstance(error, app_commands.TransformerError | app_commands.CheckFailure):
            text = f"That didn't work: {redact(str(error))}"
        else:
            log.exception("slash command failed", exc_info=error)
            text = "Something went wrong; the error is in the bot's log."
        await reply(interaction, text)
