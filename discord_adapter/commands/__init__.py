"""Slash commands, one module per group; registered by the door's start-up (`discord_adapter.bot`)."""

from __future__ import annotations

from discord_adapter.commands.channel import ObserverCommands
from discord_adapter.commands.chat import register_chat_commands
from discord_adapter.commands.errors import register_error_handler
from discord_adapter.commands.feedback import register_feedback_commands
from discord_adapter.commands.health import register_health_commands
from discord_adapter.commands.host import CommandHost
from discord_adapter.commands.memory import register_memory_commands
from discord_adapter.commands.models import register_model_commands
from discord_adapter.commands.voice import register_voice_commands


def register_all(bot: CommandHost) -> None:
    bot.tree.add_command(ObserverCommands(bot))
    for register in (
        register_model_commands,
        register_chat_commands,
        register_health_commands,
        register_feedback_commands,
        register_memory_commands,
        register_voice_commands,
        register_error_handler,
    ):
        register(bot)
