"""Answering a slash command."""

from __future__ import annotations

import discord

from discord_adapter.split import split_message


async def reply(interaction: discord.Interaction, text: str) -> None:
    """An ephemeral answer (or follow-up, after a deferral), cut to Discord's limit, pinging no one."""
    text = split_message(text)[0]
    quiet = discord.AllowedMentions.none()
    if interaction.response.is_done():
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=quiet)
    else:
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=quiet)
