"""`/feedback` and `/correct`: members teach the bot about its answers."""

from __future__ import annotations

import logging
from typing import Any, Literal

import discord
from discord import app_commands

from agent.memory.guidance import learn
from agent.services import Services
from discord_adapter.commands.common import MESSAGE_LINK
from discord_adapter.replies import reply

log = logging.getLogger(__name__)


def feedback_command(services: Services) -> app_commands.Command[Any, ..., None]:
    record = services.record

    @app_commands.command(name="feedback", description="Tell Observer how its last answer to you went")
    @app_commands.describe(rating="good or bad: rated answers teach the trainer (/train)")
    async def feedback(
        interaction: discord.Interaction,
        text: app_commands.Range[str, 1, 2000],
        rating: Literal["good", "bad"] | None = None,
    ) -> None:
        channel_id = interaction.channel_id or interaction.user.id
        about = await record.last_bot_reply(channel_id, interaction.user.id)
        await learn(
            services.record,
            services.memory,
            kind="feedback",
            user_id=interaction.user.id,
            text=text,
            message_id=about,
            guild_id=interaction.guild_id,
            channel_id=channel_id,
            rating=rating if about else None,
        )
        await reply(interaction, "Thanks, noted." if about else "Thanks, noted (I have not answered you here yet).")

    return feedback


def correct_command(services: Services) -> app_commands.Command[Any, ..., None]:
    record = services.record

    @app_commands.command(name="correct", description="Correct one of Observer's answers")
    @app_commands.describe(message="the answer's message id or link", text="what it should have said")
    async def correct(interaction: discord.Interaction, message: str, text: app_commands.Range[str, 1, 2000]) -> None:
        match = MESSAGE_LINK.search(message.strip())
        if match is None:
            await reply(interaction, "Give the message's id or link (right-click it → Copy Message Link).")
            return
        message_id = int(match.group(1))
        if not await record.is_bot_message(message_id):
            await reply(interaction, "That is not one of my answers that I remember; copy the link of my message.")
            return
        await learn(
            services.record,
            services.memory,
            kind="correction",
            user_id=interaction.user.id,
            text=text,
            message_id=message_id,
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id,
        )
        await reply(interaction, "Thanks, I'll keep that correction in mind.")

    return correct
