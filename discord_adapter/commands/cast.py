"""`/persona cast add|remove|list`: the characters who share a channel (issue I)."""

from __future__ import annotations

import discord
from discord import app_commands

from agent.memory.scopes import readable_scopes
from agent.services import Services
from discord_adapter.commands.common import MANAGE, channel_event
from discord_adapter.replies import reply


class CastCommands(app_commands.Group, name="cast", description="Several characters in this channel"):
    """`/persona cast …` (a subgroup of PersonaCommands)."""

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services

    async def listing(self, channel_id: int) -> str:
        members = await self.services.casts.members(channel_id)
        if not members:
            return "Nobody: Observer speaks as itself here."
        return "\n".join(f"- {m.persona}" + (f" (model {m.model})" if m.model else "") for m in members)

    @app_commands.command(name="add", description="A persona joins this channel's cast (it knows only what follows)")
    @app_commands.describe(model="the model it speaks with here (default: its card's, else the usual)")
    @MANAGE
    async def cast_add(self, interaction: discord.Interaction, name: str, model: str | None = None) -> None:
        services = self.services
        event = await channel_event(services.record, interaction)
        stored = await services.personas.find(name, readable_scopes(interaction.guild_id, None))
        if stored is None:
            await reply(interaction, f"No persona named {name} here; add one with `/persona add`.")
            return
        names = services.registry.names_for(interaction.guild_id)
        if model and model not in names:
            await reply(interaction, f"No model named {model}; choose one of {', '.join(names)}.")
            return
        await services.casts.add(event.channel_id, stored.card.name, model or "")
        await reply(
            interaction,
            f"{stored.card.name} joined the cast of #{event.channel_name}.\n" + await self.listing(event.channel_id),
        )

    @app_commands.command(name="remove", description="A character leaves this channel's cast")
    @MANAGE
    async def cast_remove(self, interaction: discord.Interaction, name: str) -> None:
        services = self.services
        event = await channel_event(services.record, interaction)
        members = {m.persona.lower(): m.persona for m in await services.casts.members(event.channel_id)}
        found = members.get(name.lower())
        if found is None or not await services.casts.remove(event.channel_id, found):
            await reply(interaction, f"{name} is not in the cast of #{event.channel_name}.")
            return
        await reply(interaction, f"{found} left the cast.\n" + await self.listing(event.channel_id))

    @app_commands.command(name="bots", description="Whether characters here answer other bots (same turn limit)")
    @MANAGE
    async def cast_bots(self, interaction: discord.Interaction, enabled: bool) -> None:
        event = await channel_event(self.services.record, interaction)
        await self.services.record.update_channel_settings(event.channel_id, allow_bots=enabled or None)
        said = "answer other bots too" if enabled else "ignore other bots"
        await reply(interaction, f"Characters in #{event.channel_name} {said}.")

    @app_commands.command(name="list", description="Who is in this channel's cast")
    async def cast_list(self, interaction: discord.Interaction) -> None:
        event = await channel_event(self.services.record, interaction)
        await reply(interaction, f"**Cast of #{event.channel_name}**\n" + await self.listing(event.channel_id))
