"""`/observer …`: this channel's mode, status, window and history (access, quotas and usage: `access.py`)."""

from __future__ import annotations

import logging
from typing import Literal

import discord
from discord import app_commands

from agent.member_texts import COLLECT_RUNNING
from agent.memory.personas import DEFAULT_PERSONA
from agent.redact import redact
from agent.tools.describe import server_lines, tools_here_line
from discord_adapter.commands.access import AccessCommands, QuotaCommands, usage_answer
from discord_adapter.commands.common import MANAGE, channel_event, may_manage
from discord_adapter.commands.host import CommandHost
from discord_adapter.commands.summary import summary_command
from discord_adapter.commands.threads import set_threads
from discord_adapter.replies import reply

log = logging.getLogger(__name__)


class ObserverCommands(app_commands.Group, name="observer", description="Observer in this channel", guild_only=True):
    """`/observer …`, with the `access` and `quota` subgroups and `usage` (access.py)."""

    def __init__(self, bot: CommandHost) -> None:
        super().__init__()
        self.bot = bot
        self.record = bot.services.record
        self.translate = bot.translate  # how /observer collect reads the history it stores
        # One collect per channel at a time (channel ids).
        self.collecting: set[int] = set()
        # After the commands above, in the order Discord has always been given them: access, quota, usage.
        usage = self.get_command("usage")
        assert usage is not None
        self.remove_command("usage")
        self.add_command(AccessCommands(self.record, bot.services.gate))
        self.add_command(QuotaCommands(self.record, bot.services.gate))
        self.add_command(usage)
        self.add_command(summary_command(bot))

    @app_commands.command(name="enable", description="Let Observer answer here")
    @app_commands.describe(mode="mentions: only when addressed; auto: the judge may join in")
    @MANAGE
    async def enable(self, interaction: discord.Interaction, mode: Literal["mentions", "auto"] = "mentions") -> None:
        event = await channel_event(self.record, interaction)
        await self.record.set_channel_mode(event.channel_id, mode)
        await reply(interaction, f"Observer is on in #{event.channel_name} ({mode} mode).")

    @app_commands.command(name="disable", description="Stop Observer from answering here (messages are still recorded)")
    @MANAGE
    async def disable(self, interaction: discord.Interaction) -> None:
        event = await channel_event(self.record, interaction)
        await self.record.set_channel_mode(event.channel_id, "off")
        await reply(interaction, f"Observer is off in #{event.channel_name}.")

    @app_commands.command(name="read", description="Read-only observation: record messages, never speak")
    @MANAGE
    async def read(self, interaction: discord.Interaction, enabled: bool) -> None:
        event = await channel_event(self.record, interaction)
        await self.record.set_channel_mode(event.channel_id, "observe" if enabled else "mentions")
        state = "observing silently" if enabled else "back to answering mentions"
        await reply(interaction, f"#{event.channel_name}: {state}.")

    @app_commands.command(name="voice", description="Answer with voice messages in this channel")
    @MANAGE
    async def voice(self, interaction: discord.Interaction, state: Literal["on", "off"]) -> None:
        event = await channel_event(self.record, interaction)
        await self.record.update_channel_settings(event.channel_id, voice=state == "on")
        said = "with voice messages" if state == "on" else "in text (voice only when someone speaks to me by voice)"
        await reply(interaction, f"#{event.channel_name}: I'll answer {said}.")

    @app_commands.command(name="threads", description="Answer questions here in threads of their own")
    @app_commands.describe(state="on: always; auto: when others spoke here in the last 10 minutes; off")
    @MANAGE
    async def threads(self, interaction: discord.Interaction, state: Literal["on", "auto", "off"]) -> None:
        await reply(interaction, await set_threads(self.record, interaction, state))

    @app_commands.command(name="footer", description="A line under answers in this server: model, tokens, cost")
    @MANAGE
    async def footer(self, interaction: discord.Interaction, state: Literal["on", "off"]) -> None:
        assert interaction.guild_id is not None
        await self.record.set_footer(interaction.guild_id, state == "on")
        said = "now end with" if state == "on" else "no longer end with"
        await reply(interaction, f"Answers in this server {said} a line naming the model, the tokens and the cost.")

    @app_commands.command(name="status", description="Mode, persona, model, queue and last error here")
    async def status(self, interaction: discord.Interaction) -> None:
        bot, record = self.bot, self.record
        event = await channel_event(record, interaction)
        registry = bot.services.registry
        settings = await record.channel_settings(event.channel_id)
        cooling = await bot.services.router.cooling()
        # A server's words (even redacted) are for admins; members see only that something failed.
        admin = await _is_admin(interaction)
        resting = (
            ", ".join(
                f"{n} for {c.seconds_left():.0f} s" + (f" ({redact(c.reason)})" if admin else "")
                for n, c in cooling.items()
            )
            or "none"
        )
        last = bot.replier.last_error.get(event.channel_id)
        pinned = settings.get("model")
        lines = [
            f"**Observer in #{event.channel_name}**",
            f"mode: {await record.channel_mode(event.channel_id)}",
            f"persona: {await bot.services.personas.chosen(event.guild_id, event.channel_id) or DEFAULT_PERSONA}",
            f"model: {pinned + ' (pinned here)' if pinned else registry.default_model} "
            f"(judge: {registry.judge_model}; available: {', '.join(registry.names_for(event.guild_id))})",
            f"cooling down: {resting}",
            f"queue: {bot.queues.depth(event.channel_id)} waiting",
            f"last error: {(redact(last) if admin else 'one (details for admins)') if last else 'none'}",
            tools_here_line(bot.services.toolbox, registry, event),
            *(redact(line) for line in server_lines(bot.services.toolbox.hub)),
        ]
        await reply(interaction, "\n".join(lines))

    @app_commands.command(name="reset", description="Forget this channel's recent conversation (the record is kept)")
    @MANAGE
    async def reset(self, interaction: discord.Interaction) -> None:
        event = await channel_event(self.record, interaction)
        hidden = await self.record.reset_window(event.channel_id)
        await reply(interaction, f"Forgot the conversation in #{event.channel_name} ({hidden} messages out of view).")

    @app_commands.command(name="history", description="What Observer remembers of this channel")
    async def history(self, interaction: discord.Interaction, count: app_commands.Range[int, 1, 50] = 10) -> None:
        event = await channel_event(self.record, interaction)
        lines = await self.record.window(event.channel_id, count)
        if not lines:
            await reply(interaction, "Nothing remembered here yet.")
            return
        text = "\n".join(f"**{line.author}**: {' '.join(line.text.split())[:200]}" for line in lines)
        await reply(interaction, text)

    @app_commands.command(name="collect", description="Backfill this channel's history from Discord into the record")
    @MANAGE
    async def collect(self, interaction: discord.Interaction, limit: app_commands.Range[int, 1, 5000] = 500) -> None:
        channel = interaction.channel
        if not isinstance(channel, discord.abc.Messageable):
            await reply(interaction, "This channel's history cannot be read.")
            return
        # One collect per channel at a time, claimed before the first await: a second one would read
        # the same history again and spend the channel's Discord budget twice.
        where = interaction.channel_id or 0
        if where in self.collecting:
            await reply(interaction, COLLECT_RUNNING)
            return
        self.collecting.add(where)
        try:
            await interaction.response.defer(ephemeral=True, thinking=True)
            stored = 0
            async for message in channel.history(limit=limit):
                await self.record.store_event(self.translate(message))
                stored += 1
                if stored % 100 == 0:
                    await interaction.edit_original_response(content=f"Collecting… {stored} messages so far")
            await interaction.edit_original_response(content=f"Collected {stored} messages from this channel.")
        finally:
            self.collecting.discard(where)

    @app_commands.command(name="usage", description="Your usage against your limits; for admins, the server's")
    @app_commands.describe(scope="me: your own; server: totals and top members (admins)")
    async def usage(self, interaction: discord.Interaction, scope: Literal["me", "server"] | None = None) -> None:
        services = self.bot.services
        await reply(interaction, await usage_answer(self.record, services.gate, services.router, interaction, scope))


async def _is_admin(interaction: discord.Interaction) -> bool:
    try:
        return await may_manage(interaction)
    except app_commands.AppCommandError:
        return False
