"""`/persona cast add|remove|list`: the characters who share a channel (issue I)."""

from __future__ import annotations

import discord
from discord import app_commands

from agent.memory.scopes import readable_scopes
from discord_adapter.commands.common import MANAGE, channel_event
from discord_adapter.commands.host import CommandHost
from discord_adapter.replies import reply


def register_cast_commands(bot: CommandHost, persona_group: app_commands.Group) -> None:
    services = bot.services
    cast = app_commands.Group(name="cast", description="Several characters in this channel", parent=persona_group)

    async def listing(channel_id: int) -> str:
        members = await services.casts.members(channel_id)
        if not members:
            return "Nobody: Observer speaks as itself here."
        return "\n".join(f"- {m.persona}" + (f" (model {m.model})" if m.model else "") for m in members)

    @cast.command(name="add", description="A persona joins this channel's cast (it knows only what follows)")
    @app_commands.describe(model="the model it speaks with here (default: its card's, else the usual)")
    @MANAGE
    async def cast_add(interaction: discord.Interaction, name: str, model: str | None = None) -> None:
        event = await channel_event(services.record, interaction)
        stored = await services.personas.find(name, readable_scopes(interaction.guild_id, None))
        if stored is None:
            await reply(interaction, f"No persona named {name} here; add one with `/persona add`.")
            return
        if model and model not in services.registry.names:
            await reply(interaction, f"No model named {model}; choose one of {', '.join(services.registry.names)}.")
            return
        await services.casts.add(event.channel_id, stored.card.name, model or "")
        await reply(
            interaction,
            f"{stored.card.name} joined the cast of #{event.channel_name}.\n" + await listing(event.channel_id),
        )

    @cast.command(name="remove", description="A character leaves this channel's cast")
    @MANAGE
    async def cast_remove(interaction: discord.Interaction, name: str) -> None:
        event = await channel_event(services.record, interaction)
        members = {m.persona.lower(): m.persona for m in await services.casts.members(event.channel_id)}
        found = members.get(name.lower())
        if found is None or not await services.casts.remove(event.channel_id, found):
            await reply(interaction, f"{name} is not in the cast of #{event.channel_name}.")
            return
        await reply(interaction, f"{found} left the cast.\n" + await listing(event.channel_id))

    @cast.command(name="bots", description="Whether characters here answer other bots (same turn limit)")
    @MANAGE
    async def cast_bots(interaction: discord.Interaction, enabled: bool) -> None:
        event = await channel_event(services.record, interaction)
        await services.record.update_channel_settings(event.channel_id, allow_bots=enabled or None)
        said = "answer other bots too" if enabled else "ignore other bots"
        await reply(interaction, f"Characters in #{event.channel_name} {said}.")

    @cast.command(name="list", description="Who is in this channel's cast")
    async def cast_list(interaction: discord.Interaction) -> None:
        event = await channel_event(services.record, interaction)
        await reply(interaction, f"**Cast of #{event.channel_name}**\n" + await listing(event.channel_id))
