"""What the slash-command modules share: the permission check, a command as an Event."""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, version

import discord
from discord import app_commands

from agent.events import Event
from agent.ids import new_snowflake
from agent.memory.record import Record
from discord_adapter.rights import interaction_rights


async def may_manage(interaction: discord.Interaction) -> bool:
    """Manage Server, or a role the server named in `admin_roles`: read from the member's rights."""
    if interaction.guild_id is None:
        raise app_commands.NoPrivateMessage
    rights = interaction_rights(interaction)
    if rights.can_manage:
        return True
    services = getattr(interaction.client, "services", None)
    if rights.role_ids and services is not None:
        access = (await services.gate.policies(interaction.guild_id)).access
        if rights.manages(access.admin_roles):
            return True
    raise app_commands.MissingPermissions(["manage_guild"])


# Admin actions are checked against Discord's permissions in code, never left to a model.
MANAGE = app_commands.check(may_manage)
MESSAGE_LINK = re.compile(r"(?:channels/\d+/\d+/)?(\d{15,21})/?$")


def interaction_event(interaction: discord.Interaction, text: str) -> Event:
    """A slash command as an Event: stored like a message, always addressed to the bot."""
    channel = interaction.channel
    user = interaction.user
    return Event(
        platform="discord",
        message_id=interaction.id or new_snowflake(),
        guild_id=interaction.guild_id,
        guild_name=interaction.guild.name if interaction.guild else None,
        channel_id=interaction.channel_id or user.id,
        channel_name=getattr(channel, "name", None) or "dm",
        is_dm=interaction.guild_id is None,
        author_id=user.id,
        author_name=user.display_name,
        text=text,
        mentions_bot=True,
        bot_user_id=interaction.client.user.id if interaction.client.user else None,
        # From Discord through the same function as a message's, so every rule reads the same rights.
        rights=interaction_rights(interaction),
    )


def package_version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "?"


async def channel_event(record: Record, interaction: discord.Interaction) -> Event:
    """The channel a command is about, as an Event; its row exists afterwards (commands can come first)."""
    event = interaction_event(interaction, "")
    await record.ensure_channel(event)
    return event
