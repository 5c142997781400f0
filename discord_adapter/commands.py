"""Slash commands. Each is a thin call into agent/; settings need Manage Server, the rest answer ephemerally."""

from __future__ import annotations

import logging
import platform
import re
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands

from agent.events import Event
from agent.ids import new_snowflake
from agent.memory.guidance import learn
from agent.memory.personas import DEFAULT_PERSONA
from discord_adapter.memory_commands import register_memory_commands
from discord_adapter.replies import reply
from discord_adapter.sinks import InteractionSink
from discord_adapter.voice_commands import register_voice_commands

if TYPE_CHECKING:
    from discord_adapter.client import ObserverBot

log = logging.getLogger(__name__)

MANAGE = app_commands.checks.has_permissions(manage_guild=True)
_MESSAGE_LINK = re.compile(r"(?:channels/\d+/\d+/)?(\d{15,21})/?$")


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
    )


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "?"


def register(bot: ObserverBot) -> None:
    tree = bot.tree
    record = bot.services.record

    async def channel_event(interaction: discord.Interaction) -> Event:
        event = interaction_event(interaction, "")
        await record.ensure_channel(event)
        return event

    observer = app_commands.Group(name="observer", description="Observer in this channel", guild_only=True)

    @observer.command(name="enable", description="Let Observer answer here")
    @app_commands.describe(mode="mentions: only when addressed; auto: the judge may join in")
    @MANAGE
    async def enable(interaction: discord.Interaction, mode: Literal["mentions", "auto"] = "mentions") -> None:
        event = await channel_event(interaction)
        await record.set_channel_mode(event.channel_id, mode)
        await reply(interaction, f"Observer is on in #{event.channel_name} ({mode} mode).")

    @observer.command(name="disable", description="Stop Observer from answering here (messages are still recorded)")
    @MANAGE
    async def disable(interaction: discord.Interaction) -> None:
        event = await channel_event(interaction)
        await record.set_channel_mode(event.channel_id, "off")
        await reply(interaction, f"Observer is off in #{event.channel_name}.")

    @observer.command(name="read", description="Read-only observation: record messages, never speak")
    @MANAGE
    async def read(interaction: discord.Interaction, enabled: bool) -> None:
        event = await channel_event(interaction)
        await record.set_channel_mode(event.channel_id, "observe" if enabled else "mentions")
        state = "observing silently" if enabled else "back to answering mentions"
        await reply(interaction, f"#{event.channel_name}: {state}.")

    @observer.command(name="voice", description="Answer with voice messages in this channel")
    @MANAGE
    async def voice(interaction: discord.Interaction, state: Literal["on", "off"]) -> None:
        event = await channel_event(interaction)
        await record.update_channel_settings(event.channel_id, voice=state == "on")
        said = "with voice messages" if state == "on" else "in text (voice only when someone speaks to me by voice)"
        await reply(interaction, f"#{event.channel_name}: I'll answer {said}.")

    @observer.command(name="status", description="Mode, persona, model, queue and last error here")
    async def status(interaction: discord.Interaction) -> None:
        event = await channel_event(interaction)
        registry = bot.services.registry
        settings = await record.channel_settings(event.channel_id)
        cooling = await bot.services.router.cooling()
        resting = ", ".join(f"{n} for {c.seconds_left():.0f} s ({c.reason})" for n, c in cooling.items()) or "none"
        pinned = settings.get("model")
        lines = [
            f"**Observer in #{event.channel_name}**",
            f"mode: {await record.channel_mode(event.channel_id)}",
            f"persona: {await bot.services.personas.chosen(event.guild_id, event.channel_id) or DEFAULT_PERSONA}",
            f"model: {pinned + ' (pinned here)' if pinned else registry.default_model} "
            f"(judge: {registry.judge_model}; available: {', '.join(registry.names)})",
            f"cooling down: {resting}",
            f"queue: {bot.queues.depth(event.channel_id)} waiting",
            f"last error: {bot.last_error.get(event.channel_id, 'none')}",
        ]
        await reply(interaction, "\n".join(lines))

    @observer.command(name="reset", description="Forget this channel's recent conversation (the record is kept)")
    @MANAGE
    async def reset(interaction: discord.Interaction) -> None:
        event = await channel_event(interaction)
        hidden = await record.reset_window(event.channel_id)
        await reply(interaction, f"Forgot the conversation in #{event.channel_name} ({hidden} messages out of view).")

    @observer.command(name="history", description="What Observer remembers of this channel")
    async def history(interaction: discord.Interaction, count: app_commands.Range[int, 1, 50] = 10) -> None:
        event = await channel_event(interaction)
        lines = await record.window(event.channel_id, count)
        if not lines:
            await reply(interaction, "Nothing remembered here yet.")
            return
        text = "\n".join(f"**{line.author}**: {' '.join(line.text.split())[:200]}" for line in lines)
        await reply(interaction, text)

    @observer.command(name="collect", description="Backfill this channel's history from Discord into the record")
    @MANAGE
    async def collect(interaction: discord.Interaction, limit: app_commands.Range[int, 1, 5000] = 500) -> None:
        channel = interaction.channel
        if not isinstance(channel, discord.abc.Messageable):
            await reply(interaction, "This channel's history cannot be read.")
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        stored = 0
        async for message in channel.history(limit=limit):
            await record.store_event(bot.event_for(message))
            stored += 1
            if stored % 100 == 0:
                await interaction.edit_original_response(content=f"Collecting… {stored} messages so far")
        await interaction.edit_original_response(content=f"Collected {stored} messages from this channel.")

    @observer.command(name="usage", description="Tokens and cost today and this month in this server")
    async def usage(interaction: discord.Interaction) -> None:
        guild_id = interaction.guild_id
        assert guild_id is not None  # guild_only group
        now = datetime.now(UTC)
        day = now.replace(hour=0, minute=0, second=0, microsecond=0)
        lines = []
        for label, since in (("today", day), ("this month", day.replace(day=1))):
            rows = await record.usage_totals(guild_id, since)
            total = sum(r["cost_usd"] for r in rows)
            lines.append(f"**{label}**: ${total:.4f} in {sum(r['calls'] for r in rows)} calls")
            lines += [
                f"- {r['model']}: {r['calls']} calls, {r['tokens_in']} in / {r['tokens_out']} out, ${r['cost_usd']:.4f}"
                for r in rows
            ]
        budget = bot.services.router.budget_for(guild_id)
        if budget is not None:
            lines.append(f"daily budget: ${budget:.2f}")
        await reply(interaction, "\n".join(lines))

    tree.add_command(observer)

    model_group = app_commands.Group(name="model", description="Which model answers here", guild_only=True)

    @model_group.command(name="list", description="The models Observer can use")
    async def model_list(interaction: discord.Interaction) -> None:
        cooling = await bot.services.router.cooling()
        lines = [
            f"**{m.name}**: {m.about or 'general model'} (context {m.context_window}, "
            f"${m.cost_per_1k_input:g}/${m.cost_per_1k_output:g} per 1k)"
            + (f" — cooling down {cooling[m.name].seconds_left():.0f} s" if m.name in cooling else "")
            for m in bot.services.registry.config.models
        ]
        await reply(interaction, "\n".join(lines))

    @model_group.command(name="set", description="Pin a model (and its temperature) for this channel")
    @app_commands.describe(name="a model from /model list, or 'auto' to let the judge choose")
    @MANAGE
    async def model_set(
        interaction: discord.Interaction, name: str, temperature: app_commands.Range[float, 0.0, 2.0] | None = None
    ) -> None:
        event = await channel_event(interaction)
        names = bot.services.registry.names
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
    async def model_names(_interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        options = ["auto", *bot.services.registry.names]
        return [app_commands.Choice(name=n, value=n) for n in options if current.lower() in n.lower()][:25]

    tree.add_command(model_group)

    @tree.command(name="chat", description="Ask Observer directly")
    @app_commands.describe(model="a model by name, where the server allows choosing")
    async def chat(
        interaction: discord.Interaction, prompt: app_commands.Range[str, 1, 4000], model: str | None = None
    ) -> None:
        registry = bot.services.registry
        if model is not None and not registry.config.member_model_choice:
            await reply(interaction, "This server does not let members choose the model.")
            return
        if model is not None and model not in registry.names:
            await reply(interaction, f"No model called {model!r}; see /model list.")
            return
        event = interaction_event(interaction, prompt)
        private = await record.privacy(interaction.user.id) == "private"
        await interaction.response.defer(ephemeral=private, thinking=True)
        await bot.run_reply(event, InteractionSink(interaction, private), None, store_reply=private, model=model)

    privacy = app_commands.Group(name="privacy", description="Your privacy with Observer")

    @privacy.command(name="set", description="Whether your /chat answers are visible to others")
    async def privacy_set(interaction: discord.Interaction, mode: Literal["private", "public"]) -> None:
        await record.set_privacy(interaction.user.id, interaction.user.display_name, mode)
        shown = "only to you" if mode == "private" else "to everyone in the channel"
        await reply(interaction, f"Your /chat answers will be shown {shown}.")

    tree.add_command(privacy)

    @tree.command(name="ping", description="Is Observer alive?")
    async def ping(interaction: discord.Interaction) -> None:
        await reply(interaction, f"pong ({bot.latency * 1000:.0f} ms gateway latency)")

    @tree.command(name="health", description="Uptime, guilds, queues, models, versions")
    async def health(interaction: discord.Interaction) -> None:
        depths = bot.queues.depths()
        hours, rest = divmod(int(bot.uptime()), 3600)
        lines = [
            f"uptime: {hours}h {rest // 60}m",
            f"guilds: {len(bot.guilds)}",
            f"queues: {sum(depths.values())} waiting in {len(depths)} channel(s)",
            f"models: {', '.join(bot.services.registry.names)}",
            f"versions: observer {_version('observer-bot')}, discord.py {discord.__version__}, "
            f"langgraph {_version('langgraph')}, python {platform.python_version()}",
        ]
        await reply(interaction, "\n".join(lines))

    @tree.command(name="feedback", description="Tell Observer how its last answer to you went")
    async def feedback(interaction: discord.Interaction, text: app_commands.Range[str, 1, 2000]) -> None:
        channel_id = interaction.channel_id or interaction.user.id
        about = await record.last_bot_reply(channel_id, interaction.user.id)
        await learn(
            bot.services.record,
            bot.services.memory,
            kind="feedback",
            user_id=interaction.user.id,
            text=text,
            message_id=about,
            guild_id=interaction.guild_id,
            channel_id=channel_id,
        )
        await reply(interaction, "Thanks, noted." if about else "Thanks, noted (I have not answered you here yet).")

    @tree.command(name="correct", description="Correct one of Observer's answers")
    @app_commands.describe(message="the answer's message id or link", text="what it should have said")
    async def correct(interaction: discord.Interaction, message: str, text: app_commands.Range[str, 1, 2000]) -> None:
        match = _MESSAGE_LINK.search(message.strip())
        if match is None:
            await reply(interaction, "Give the message's id or link (right-click it → Copy Message Link).")
            return
        message_id = int(match.group(1))
        if not await record.is_bot_message(message_id):
            await reply(interaction, "That is not one of my answers that I remember; copy the link of my message.")
            return
        await learn(
            bot.services.record,
            bot.services.memory,
            kind="correction",
            user_id=interaction.user.id,
            text=text,
            message_id=message_id,
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id,
        )
        await reply(interaction, "Thanks, I'll keep that correction in mind.")

    register_memory_commands(bot)
    register_voice_commands(bot)

    @tree.error
    async def on_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        if isinstance(error, app_commands.MissingPermissions):
            text = "You need the Manage Server permission to change Observer's settings."
        elif isinstance(error, app_commands.NoPrivateMessage):
            text = "That command only works in a server."
        elif isinstance(error, app_commands.TransformerError | app_commands.CheckFailure):
            text = f"That didn't work: {error}"
        else:
            log.exception("slash command failed", exc_info=error)
            text = "Something went wrong; the error is in the bot's log."
        await reply(interaction, text)
