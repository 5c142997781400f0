"""`/chat` (ask directly, privately or not) and `/privacy set`."""

from __future__ import annotations

import logging
from typing import Any, Literal

import discord
from discord import app_commands

from agent.memory.record import Record
from discord_adapter.commands.common import interaction_event
from discord_adapter.commands.host import CommandHost
from discord_adapter.replier import ReplyTo
from discord_adapter.replies import reply
from discord_adapter.sinks import InteractionSink

log = logging.getLogger(__name__)


def chat_command(bot: CommandHost) -> app_commands.Command[Any, ..., None]:
    record = bot.services.record

    @app_commands.command(name="chat", description="Ask Observer directly")
    @app_commands.describe(model="a model by name, where the server allows choosing")
    async def chat(
        interaction: discord.Interaction, prompt: app_commands.Range[str, 1, 4000], model: str | None = None
    ) -> None:
        registry = bot.services.registry
        if model is not None and not bot.services.config.member_model_choice:
            await reply(interaction, "This server does not let members choose the model.")
            return
        if model is not None and model not in registry.names_for(interaction.guild_id):
            await reply(interaction, f"No model called {model!r}; see /model list.")
            return
        event = interaction_event(interaction, prompt)
        # The same access lists as a message's, read from the same rights; said, since a command waits.
        refused = await bot.services.gate.turned_away(event)
        if refused is not None:
            await reply(interaction, refused)
            return
        event = await bot.links.for_command(interaction, event)
        private = await record.privacy(interaction.user.id) == "private"
        # A private exchange is stored but kept out of everyone's context and summaries: another
        # member's answer or /observer summary would otherwise repeat what only this member saw.
        event = event.model_copy(update={"private": private})
        await interaction.response.defer(ephemeral=private, thinking=True)
        await bot.replier.run(ReplyTo(event, InteractionSink(interaction, private), store_reply=private, model=model))

    return chat


class PrivacyCommands(app_commands.Group, name="privacy", description="Your privacy with Observer"):
    def __init__(self, record: Record) -> None:
        super().__init__()
        self.record = record

    @app_commands.command(name="set", description="Whether your /chat answers are visible to others")
    async def privacy_set(self, interaction: discord.Interaction, mode: Literal["private", "public"]) -> None:
        await self.record.set_privacy(interaction.user.id, interaction.user.display_name, mode)
        shown = "only to you" if mode == "private" else "to everyone in the channel"
        await reply(interaction, f"Your /chat answers will be shown {shown}.")
