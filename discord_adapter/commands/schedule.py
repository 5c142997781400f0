"""`/schedule …`: a member's reminders (remind, list, cancel, timezone) and an admin's recurring posts (add).

Who may do what is checked here in code: a member makes and cancels only their own reminders; an admin
(Manage Server or an admin role) may cancel any in the server and set recurring posts, which also need
the admin and the bot to be able to post in the target channel."""

from __future__ import annotations

import logging
from typing import Literal

import discord
from discord import app_commands

from agent.schedules.making import SCHEDULE, CannotPostHere, remind, server_zone
from agent.schedules.recurrence import parse_every
from agent.schedules.store import NewReminder, ReminderRow, TooMany
from agent.schedules.texts import plain_links
from agent.schedules.when import WhenError, zone_named
from discord_adapter.commands.common import MANAGE, interaction_event, may_manage
from discord_adapter.commands.host import CommandHost
from discord_adapter.replies import reply
from discord_adapter.rights import interaction_rights, may_send, rights_of

log = logging.getLogger(__name__)

STATE_MARK = {"pending": "⏳", "firing": "⏳", "sent": "✅", "missed": "⚠️ missed", "failed": "❌ failed"}


def _line(row: ReminderRow, *, owner: bool) -> str:
    if row.cron is not None:
        when = f"🔁 {row.every or row.cron} ({row.zone})"
        if row.last_fire is not None:
            when += f", last <t:{int(row.last_fire.timestamp())}:R>"
    else:
        assert row.due_at is not None
        when = f"<t:{int(row.due_at.timestamp())}:f>"
    where = "DM" if row.is_dm else f"<#{row.channel_id}>"
    who = f" · <@{row.owner_id}>" if owner else ""
    mark = STATE_MARK.get(row.state, row.state)
    return f"`#{row.id}` {mark} {when} · {where}{who} · {plain_links(row.text[:80])}"


def _is_admin_here(interaction: discord.Interaction) -> bool:
    return interaction.guild_id is not None and interaction_rights(interaction).can_manage


class ScheduleCommands(app_commands.Group, name="schedule", description="Reminders and scheduled posts"):
    def __init__(self, bot: CommandHost) -> None:
        super().__init__()
        self.bot = bot
        self.services = bot.services
        self.reminders = bot.services.reminders
        self.record = bot.services.record

    @app_commands.command(name="remind", description="Remind me of something later, here")
    @app_commands.describe(when="e.g. 'in 2 hours', 'tomorrow at 9:00', '明日の朝9時'", what="what to remind you of")
    async def remind_me(
        self,
        interaction: discord.Interaction,
        when: app_commands.Range[str, 1, 200],
        what: app_commands.Range[str, 1, 1000],
    ) -> None:
        event = interaction_event(interaction, what)
        refused = await self.services.gate.turned_away(event)  # the same access lists as a message's
        if refused is not None:
            await reply(interaction, refused)
            return
        try:
            locale = str(interaction.locale.value) if interaction.locale else None
            row, zone = await remind(self.reminders, self.record, event, when, what, locale=locale)
        except (WhenError, TooMany, CannotPostHere) as exc:
            await reply(interaction, f"Not scheduled: {exc}")
            return
        assert row.due_at is not None
        unix = int(row.due_at.timestamp())
        dm = " by direct message" if row.private else ""
        await reply(
            interaction,
            f"⏰ I'll remind you{dm} <t:{unix}:F> (<t:{unix}:R>; read in {zone.key}): "
            f"{plain_links(row.text)} — `#{row.id}`",
        )

    @app_commands.command(name="list", description="Your reminders (admins: scope server for the whole server)")
    async def listing(self, interaction: discord.Interaction, scope: Literal["me", "server"] = "me") -> None:
        if scope == "server":
            await may_manage(interaction)  # raises MissingPermissions: answered by the error handler
            assert interaction.guild_id is not None
            rows = await self.reminders.listing(guild_id=interaction.guild_id)
        else:
            rows = await self.reminders.listing(owner_id=interaction.user.id)
        if not rows:
            none = "No reminders or scheduled posts." if scope == "server" else "You have no reminders."
            await reply(interaction, none)
            return
        lines = [_line(r, owner=scope == "server") for r in rows[:25]]
        more = f"\n… and {len(rows) - 25} more" if len(rows) > 25 else ""
        await reply(interaction, "\n".join(lines) + more)

    @app_commands.command(name="cancel", description="Cancel one of your reminders (admins: any in this server)")
    @app_commands.describe(reminder="its number, as /schedule list shows it (#12 or 12)")
    async def cancel(self, interaction: discord.Interaction, reminder: str) -> None:
        try:
            reminder_id = int(reminder.strip().lstrip("#`").rstrip("`"))
        except ValueError:
            await reply(interaction, f"{reminder!r} is not a reminder number; see /schedule list.")
            return
        if not 0 < reminder_id < 2**63:  # past the record's integers: no such reminder, whatever the database says
            await reply(interaction, f"No reminder #{reminder_id} of yours here; see /schedule list.")
            return
        row = await self.reminders.get(reminder_id)
        mine = row is not None and row.owner_id == interaction.user.id
        admin = row is not None and row.guild_id is not None and row.guild_id == interaction.guild_id
        if admin and not mine:
            admin = _is_admin_here(interaction) or await self._admin_role(interaction)
        if row is None or not (mine or admin):
            await reply(interaction, f"No reminder #{reminder_id} of yours here; see /schedule list.")
            return
        if not await self.reminders.cancel(reminder_id):
            await reply(interaction, f"#{reminder_id} has already {row.state if row.state != 'pending' else 'ended'}.")
            return
        await reply(interaction, f"Cancelled #{reminder_id}: {plain_links(row.text[:200])}")

    async def _admin_role(self, interaction: discord.Interaction) -> bool:
        try:
            return await may_manage(interaction)
        except app_commands.CheckFailure:
            return False

    @app_commands.command(name="timezone", description="Your time zone for reminders (admins: the server's default)")
    @app_commands.describe(zone="an IANA name such as Europe/Lisbon or Asia/Tokyo; 'clear' to go back to the default")
    async def timezone(self, interaction: discord.Interaction, zone: str | None = None, server: bool = False) -> None:
        if server:
            await may_manage(interaction)
            assert interaction.guild_id is not None
            if zone is None:
                current = await server_zone(self.record, interaction.guild_id)
                await reply(interaction, f"This server's default time zone: {current or 'UTC (not set)'}.")
                return
            name = None if zone.strip().lower() == "clear" else await self._zone(interaction, zone)
            if name is False:
                return
            await self.record.update_guild_section(interaction.guild_id, SCHEDULE, {"timezone": name})
            await reply(interaction, f"This server's default time zone is now {name or 'UTC'}.")
            return
        if zone is None:
            mine = await self.reminders.member_zone(interaction.user.id)
            default = await server_zone(self.record, interaction.guild_id) or "UTC"
            await reply(interaction, f"Your time zone: {mine or f'not set (the default here: {default})'}.")
            return
        name = None if zone.strip().lower() == "clear" else await self._zone(interaction, zone)
        if name is False:
            return
        await self.reminders.set_member_zone(interaction.user.id, name)
        await reply(interaction, f"Your reminders are now read in {name or 'the server default'}.")

    async def _zone(self, interaction: discord.Interaction, zone: str) -> str | Literal[False]:
        """The zone's IANA name, or False after telling the member what to write instead."""
        try:
            return zone_named(zone).key
        except WhenError as exc:
            await reply(interaction, f"Not changed: {exc}")
            return False

    @app_commands.command(name="add", description="A recurring post in a channel (Manage Server)")
    @app_commands.describe(
        channel="where to post",
        every="e.g. 'every Monday 10:00', 'every day at 9:00', 'weekdays 18:00' or '0 10 * * mon'",
        prompt="what to post each time, e.g. 'summarise yesterday in this channel'",
    )
    @app_commands.guild_only()
    @MANAGE
    async def add(
        self,
        interaction: discord.Interaction,
        channel: discord.TextChannel | discord.Thread,
        every: app_commands.Range[str, 1, 200],
        prompt: app_commands.Range[str, 1, 1000],
    ) -> None:
        guild = interaction.guild
        member = interaction.user
        assert interaction.guild_id is not None
        target = guild.get_channel_or_thread(channel.id) if guild is not None else None
        if guild is None or target is None or not isinstance(member, discord.Member):
            await reply(interaction, "I can't see that channel from here; try again in a moment.")
            return
        # In a thread the right that counts is Send Messages in Threads.
        if not may_send(target.permissions_for(member), target):
            await reply(interaction, f"You can't post in <#{target.id}>, so you can't schedule posts there.")
            return
        me = guild.me
        if me is None or not may_send(target.permissions_for(me), target):
            right = "Send Messages in Threads" if isinstance(target, discord.Thread) else "Send Messages"
            await reply(interaction, f"I can't post in <#{target.id}>; give me View Channel and {right} there.")
            return
        try:
            cron = parse_every(every)
        except WhenError as exc:
            await reply(interaction, f"Not scheduled: {exc}")
            return
        zone = await server_zone(self.record, interaction.guild_id) or "UTC"
        # The admin's rights where the post goes (its parents and category), Manage Server as Discord resolved it.
        manage = interaction.permissions.manage_guild
        rights = rights_of(member, guild, target).model_copy(update={"can_manage": manage})
        row = await self.reminders.add(
            NewReminder(
                kind="post",
                guild_id=interaction.guild_id,
                channel_id=target.id,
                channel_name=target.name,
                is_dm=False,
                owner_id=member.id,
                owner_name=member.display_name,
                text=" ".join(prompt.split()),
                zone=zone,
                cron=cron,
                every=every,
                rights=rights.model_dump(),
            )
        )
        await reply(interaction, f"🔁 `#{row.id}` in <#{target.id}>, {every} ({zone}, cron `{cron}`): {row.text[:200]}")
