"""`/observer summary [since:]`: catch a member up on the channel they run it in (agent/summary.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import discord
from discord import app_commands

from agent.member_texts import (
    SUMMARY_CANNOT_READ,
    failure_text,
    summary_heading,
    summary_left_out,
    summary_nothing,
)
from agent.schedules.making import zone_for
from agent.since import SinceError, parse_since
from agent.summary import Summarizer, Summary, language_of
from discord_adapter.commands.common import interaction_event
from discord_adapter.commands.host import CommandHost
from discord_adapter.replies import reply
from discord_adapter.rights import may_read_history
from discord_adapter.split import split_message

QUIET = discord.AllowedMentions.none()  # a summary names members; it never pings them


def summary_command(bot: CommandHost) -> app_commands.Command[Any, ..., None]:
    services = bot.services

    @app_commands.command(name="summary", description="What you missed in this channel")
    @app_commands.describe(since='how far back: "yesterday", "2h", "3 days", "昨日", "ontem", "вчера" (default: 24 h)')
    async def summary(interaction: discord.Interaction, since: app_commands.Range[str, 1, 100] | None = None) -> None:
        guild = interaction.guild
        channel = (guild.get_channel_or_thread(interaction.channel_id or 0) if guild else None) or interaction.channel
        # Checked in code, from Discord's permissions: View Channel and Read Message History here.
        if not may_read_history(interaction.user, channel, channel):
            await reply(interaction, SUMMARY_CANNOT_READ)
            return
        event = interaction_event(interaction, "")
        refused = await services.gate.turned_away(event)
        if refused is not None:
            await reply(interaction, refused)
            return
        code, language = language_of(str(interaction.locale))
        now = datetime.now(UTC)
        private = await services.record.privacy(interaction.user.id) == "private"
        # Deferred before `since:` is read: the first unusual phrase loads dateparser's language data
        # (2–3 s on a small machine), past Discord's 3 s to answer an interaction.
        await interaction.response.defer(ephemeral=private, thinking=True)
        zone = await zone_for(services.reminders, services.record, interaction.user.id, interaction.guild_id)
        try:
            start = await asyncio.to_thread(parse_since, since, now, code, zone.key)
        except SinceError as exc:
            await interaction.edit_original_response(content=str(exc), allowed_mentions=QUIET)
            return
        summarizer = Summarizer(services.record, services.prompts, services.router, services.settings)
        done = await summarizer.summarize(event, start, language)
        parts = split_message(summary_text(done, event.channel_name))
        await interaction.edit_original_response(content=parts[0], allowed_mentions=QUIET)
        for part in parts[1:]:
            await interaction.followup.send(part, ephemeral=private, allowed_mentions=QUIET)

    return summary


def summary_text(done: Summary, channel: str) -> str:
    """The member's reply: a heading, the model's summary, and what did not fit; or why there is none."""
    since_ts = int(done.since.timestamp())
    if done.failure is not None:
        return failure_text(done.failure)
    if not done.covered:
        return summary_nothing(channel, since_ts)
    lines = [summary_heading(channel, since_ts, done.covered), "", done.text]
    if done.left_out or done.left_out_more:
        from_ts = (
            int(done.from_time.replace(tzinfo=done.from_time.tzinfo or UTC).timestamp()) if done.from_time else None
        )
        lines += ["", summary_left_out(done.left_out, done.left_out_more, from_ts)]
    return "\n".join(lines)
