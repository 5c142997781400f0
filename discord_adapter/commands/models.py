"""`/model list` and `/model set`: which model answers in a channel."""

from __future__ import annotations

import logging

import discord
from discord import app_commands

from agent.services import Services
from discord_adapter.commands.common import MANAGE, channel_event
from discord_adapter.replies import reply

log = logging.getLogger(__name__)


class ModelCommands(app_commands.Group, name="model", description="Which model answers here", guild_only=True):
    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services

    @app_commands.command(name="list", description="The models Observer can use")
    async def model_list(self, interaction: discord.Interaction) -> None:
        cooling = await self.services.router.cooling()
        allowed = set(self.services.registry.names_for(interaction.guild_id))
        lines = [
            f"**{m.name}**: {m.about or 'general model'} (context {m.context_window}, "
            f"${m.cost_per_1k_input:g}/${m.cost_per_1k_output:g} per 1k)"
            + (f" — cooling down {cooling[m.name].seconds_left():.0f} s" if m.name in cooling else "")
            for m in self.services.registry.specs
            if m.name in allowed
        ]
        await reply(interaction, "\n".join(lines))

    @app_commands.command(name="set", description="Pin a model (and its temperature) for this channel")
    @app_commands.describe(name="a model from /model list, or 'auto' to let the judge choose")
    @MANAGE
    async def model_set(
        self,
        interaction: discord.Interaction,
        name: str,
        temperature: app_commands.Range[float, 0.0, 2.0] | None = None,
    ) -> None:
        record = self.services.record
        event = await channel_event(record, interaction)
        names = self.services.registry.names_for(interaction.guild_id)
        if name != "auto" and name not in names:
            await reply(interaction, f"No model called {name!r}; choose one of: {', '.join(names)}, or auto.")
            return
        await record.update_channel_settings(
            event.channel_id, model=None if name == "auto" else name, temperature=temperature
        )
        chosen = "the judge chooses" if name == "auto" else f"{name} answers"
        extra = f" at temperature {temperature:g}" if temperature is not None else ""
        await reply(interaction, f"In #{event.channel_name}, {chosen}{extra}.")

    @model_set.autocomplete("name")
    async def model_names(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        options = ["auto", *self.services.registry.names_for(interaction.guild_id)]
        return [app_commands.Choice(name=n, value=n) for n in options if current.lower() in n.lower()][:25]
