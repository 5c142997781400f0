"""Slash commands: each family an `app_commands.Group` class built with what it uses, single top-level
commands plain `app_commands.Command`s; all added to the bot's tree here (by `discord_adapter.run`)."""

from __future__ import annotations

from discord_adapter.commands.channel import ObserverCommands
from discord_adapter.commands.chat import PrivacyCommands, chat_command
from discord_adapter.commands.errors import register_error_handler
from discord_adapter.commands.feedback import correct_command, feedback_command
from discord_adapter.commands.health import health_command, ping_command
from discord_adapter.commands.host import CommandHost
from discord_adapter.commands.memory import DatasetCommands, PersonaCommands
from discord_adapter.commands.model_test import instruction_command, test_command
from discord_adapter.commands.models import ModelCommands
from discord_adapter.commands.schedule import ScheduleCommands
from discord_adapter.commands.train import TrainCommands
from discord_adapter.commands.voice import join, leave, stop


def register_all(bot: CommandHost) -> None:
    services = bot.services
    for command in (
        ObserverCommands(bot),
        ModelCommands(services),
        chat_command(bot),
        PrivacyCommands(services.record),
        ping_command(bot),
        health_command(bot),
        feedback_command(services),
        correct_command(services),
        PersonaCommands(services),
        DatasetCommands(services),
        ScheduleCommands(bot),
        TrainCommands(bot),
        test_command(bot),
        instruction_command(bot),
        join,
        leave,
        stop,
    ):
        bot.tree.add_command(command)
    register_error_handler(bot)
