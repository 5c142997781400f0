"""/join, /leave and /stop: Observer in a voice channel, speaking its replies there (they need nothing of
the bot but the interaction: plain `app_commands.command`s, added to the tree as they are)."""

from __future__ import annotations

import logging

import discord
from discord import app_commands

from discord_adapter.replies import reply
from discord_adapter.voice import load_opus

log = logging.getLogger(__name__)


@app_commands.command(name="join", description="Observer joins your voice channel and speaks its replies there")
@app_commands.guild_only()
async def join(interaction: discord.Interaction) -> None:
    member = interaction.user
    channel = member.voice.channel if isinstance(member, discord.Member) and member.voice else None
    if channel is None:
        await reply(interaction, "Join a voice channel first, then use /join.")
        return
    if not load_opus():
        await reply(interaction, "Voice needs the Opus library on the bot's machine (apt install libopus0).")
        return
    guild = interaction.guild
    assert guild is not None
    await interaction.response.defer(ephemeral=True, thinking=True)
    current = guild.voice_client
    try:
        if isinstance(current, discord.VoiceClient):
            await current.move_to(channel)
        else:
            await channel.connect(self_deaf=True, timeout=20.0)
    except (TimeoutError, discord.ClientException) as exc:
        log.warning("voice connect to %s failed: %s", channel.id, exc)
        await reply(interaction, f"I couldn't join {channel.name}: {exc or 'timed out'}.")
        return
    await reply(interaction, f"Joined {channel.name}. I'll speak my replies to people here; /stop cuts me off.")


@app_commands.command(name="leave", description="Observer leaves the voice channel")
@app_commands.guild_only()
async def leave(interaction: discord.Interaction) -> None:
    voice = interaction.guild.voice_client if interaction.guild else None
    if voice is None:
        await reply(interaction, "I'm not in a voice channel.")
        return
    await voice.disconnect(force=False)
    await reply(interaction, "Left the voice channel.")


@app_commands.command(name="stop", description="Stop Observer speaking")
@app_commands.guild_only()
async def stop(interaction: discord.Interaction) -> None:
    voice = interaction.guild.voice_client if interaction.guild else None
    if isinstance(voice, discord.VoiceClient) and voice.is_playing():
        voice.stop()
        await reply(interaction, "Stopped.")
    else:
        await reply(interaction, "I'm not speaking.")
