"""`/observer access …`, `/observer quota …` and `/observer usage`: who may talk to the bot and how much,
per server (stored in the record over the file's defaults). Changes need Manage Server or an admin role,
checked in code."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any, Literal

import discord
from discord import app_commands

from agent.access.gate import Gate
from agent.access.ledger import key_of
from agent.access.policy import LIMITS, NO_LIMIT, AccessPolicy, QuotaLimits, QuotaPolicy
from agent.access.quota import over_quota, wait_words
from agent.memory.record import Record
from agent.models.router import Router
from discord_adapter.commands.common import MANAGE, may_manage
from discord_adapter.replies import reply

AccessList = Literal["allow_roles", "block_users", "allow_channels", "block_channels", "admin_roles"]
Limit = Literal["replies_per_hour", "tokens_per_day", "usd_per_day"]
_MENTION = re.compile(r"^<(@!?|@&|#)(\d{15,21})>$|^(\d{15,21})$")
_KIND = {"@": "user", "@!": "user", "@&": "role", "#": "channel"}
_WANTS = {
    "allow_roles": "role",
    "admin_roles": "role",
    "block_users": "user",
    "allow_channels": "channel",
    "block_channels": "channel",
}


def parse_target(guild: discord.Guild | None, wanted: str, text: str) -> int:
    """An id from a mention or a bare id, checked against what the list holds. Raises ValueError."""
    match = _MENTION.match(text.strip())
    if match is None:
        raise ValueError(f"give a {wanted} as a mention or an id, not {text.strip()[:40]!r}")
    kind = _KIND.get(match.group(1) or "", None)
    target = int(match.group(2) or match.group(3))
    if kind is not None and kind != wanted:
        raise ValueError(f"that is a {kind}; this list holds {wanted}s")
    if guild is not None and kind is None:
        found = {"role": guild.get_role, "channel": guild.get_channel}.get(wanted)
        if found is not None and found(target) is None:
            raise ValueError(f"no {wanted} with id {target} in this server")
    return target


def shown(ids: list[int], wanted: str) -> str:
    if not ids:
        return "—"
    sign = {"role": "@&", "user": "@", "channel": "#"}[wanted]
    return ", ".join(f"<{sign}{i}>" for i in ids)


def access_lines(policy: AccessPolicy) -> list[str]:
    lines = [f"{name}: {shown(getattr(policy, name), _WANTS[name])}" for name in _WANTS]
    lines.append(f"record_blocked: {policy.record_blocked}")
    lines.append(f"blocked_note: {policy.blocked_note or '— (silence)'}")
    return lines


def limit_words(limits: QuotaLimits) -> str:
    parts = []
    for name in LIMITS:
        value = getattr(limits, name)
        parts.append(f"{name} = {'no limit' if value is None else value}")
    return ", ".join(parts)


def parse_limit(name: str, text: str) -> float | int | str | None:
    """A number, `none` (no limit) or `default` (back to the file's). Raises ValueError."""
    word = text.strip().lower()
    if word in ("none", "unlimited", "off"):
        return None
    if word == "default":
        return "default"
    value = float(word)
    if value < 0:
        raise ValueError("a limit cannot be negative")
    return value if name == "usd_per_day" else int(value)


async def _save(record: Record, gate: Gate, guild_id: int, section: str, changes: dict[str, Any] | None) -> None:
    """Store a server's change (None: back to the file's) and drop the gate's cached copy at once."""
    if changes is None:
        await record.reset_guild_section(guild_id, section)
    else:
        await record.update_guild_section(guild_id, section, changes)
    gate.forget(guild_id)


class AccessCommands(app_commands.Group, name="access", description="Who may talk to Observer here"):
    """`/observer access …`: the server's access lists."""

    def __init__(self, record: Record, gate: Gate) -> None:
        super().__init__()
        self.record = record
        self.gate = gate

    async def current(self, guild_id: int) -> AccessPolicy:
        return (await self.gate.policies(guild_id)).access

    @app_commands.command(name="show", description="The access lists in this server")
    @MANAGE
    async def show(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        await reply(
            interaction, "**Access here**\n" + "\n".join(access_lines(await self.current(interaction.guild_id)))
        )

    async def change_list(self, interaction: discord.Interaction, name: str, target: str, add: bool) -> None:
        assert interaction.guild_id is not None
        try:
            value = parse_target(interaction.guild, _WANTS[name], target)
        except ValueError as exc:
            await reply(interaction, f"That didn't work: {exc}.")
            return
        ids = list(getattr(await self.current(interaction.guild_id), name))
        if add and value not in ids:
            ids.append(value)
        elif not add and value in ids:
            ids.remove(value)
        await _save(self.record, self.gate, interaction.guild_id, "access", {name: ids})
        await reply(interaction, f"{name}: {shown(ids, _WANTS[name])}")

    @app_commands.command(name="add", description="Add a role, member or channel to an access list")
    @app_commands.describe(target="a mention (@role, @member, #channel) or an id; categories by id")
    @MANAGE
    async def add(self, interaction: discord.Interaction, list: AccessList, target: str) -> None:
        await self.change_list(interaction, list, target, add=True)

    @app_commands.command(name="remove", description="Remove a role, member or channel from an access list")
    @MANAGE
    async def remove(self, interaction: discord.Interaction, list: AccessList, target: str) -> None:
        await self.change_list(interaction, list, target, add=False)

    @app_commands.command(name="blocked", description="Whether blocked messages are recorded, and what they are told")
    @app_commands.describe(note="said once to a blocked member who asks; `none` for silence")
    @MANAGE
    async def blocked(
        self, interaction: discord.Interaction, record_blocked: bool | None = None, note: str | None = None
    ) -> None:
        assert interaction.guild_id is not None
        changes: dict[str, Any] = {}
        if record_blocked is not None:
            changes["record_blocked"] = record_blocked
        if note is not None:
            changes["blocked_note"] = "" if note.strip().lower() == "none" else note.strip()[:300]
        await _save(self.record, self.gate, interaction.guild_id, "access", changes)
        await reply(interaction, "\n".join(access_lines(await self.current(interaction.guild_id))[-2:]))

    @app_commands.command(name="reset", description="Back to the access lists in observer.toml")
    @MANAGE
    async def reset(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        await _save(self.record, self.gate, interaction.guild_id, "access", None)
        await reply(interaction, "Access lists are back to the file's defaults.")


def quota_lines(policy: QuotaPolicy) -> list[str]:
    lines = [f"everyone: {limit_words(policy)}"]
    lines += [f"<@&{r.role}>: {limit_words(r)}" for r in policy.role]
    return lines


class QuotaCommands(app_commands.Group, name="quota", description="How much each member may ask here"):
    """`/observer quota …`: per-member limits in a server."""

    def __init__(self, record: Record, gate: Gate) -> None:
        super().__init__()
        self.record = record
        self.gate = gate

    async def current(self, guild_id: int) -> QuotaPolicy:
        return (await self.gate.policies(guild_id)).quotas

    @app_commands.command(name="show", description="Per-member limits in this server")
    @MANAGE
    async def show(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        await reply(
            interaction,
            "**Quotas here** (per member)\n" + "\n".join(quota_lines(await self.current(interaction.guild_id))),
        )

    @app_commands.command(name="set", description="Set a per-member limit, for everyone or for one role")
    @app_commands.describe(value="a number, `none` for no limit, or `default` for observer.toml's")
    @MANAGE
    async def set_limit(
        self, interaction: discord.Interaction, limit: Limit, value: str, role: discord.Role | None = None
    ) -> None:
        assert interaction.guild_id is not None
        try:
            parsed = parse_limit(limit, value)
        except ValueError as exc:
            await reply(interaction, f"That didn't work: {exc}.")
            return
        # Stored: a number, or NO_LIMIT; "default" removes the server's value (the file's applies).
        stored_value = None if parsed == "default" else NO_LIMIT if parsed is None else parsed
        if role is None:
            await _save(self.record, self.gate, interaction.guild_id, "quotas", {limit: stored_value})
        else:
            stored = (await self.record.guild_settings(interaction.guild_id)).get("quotas", {})
            roles = {int(r["role"]): r for r in stored.get("role", [])}
            entry = roles.setdefault(role.id, {"role": role.id})
            if stored_value is None:
                entry.pop(limit, None)
            else:
                entry[limit] = stored_value
            await _save(self.record, self.gate, interaction.guild_id, "quotas", {"role": list(roles.values())})
        await reply(interaction, "\n".join(quota_lines(await self.current(interaction.guild_id))))

    @app_commands.command(name="reset", description="Back to the quotas in observer.toml")
    @MANAGE
    async def reset(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        await _save(self.record, self.gate, interaction.guild_id, "quotas", None)
        await reply(interaction, "Quotas are back to the file's defaults.")


async def usage_answer(
    record: Record, gate: Gate, router: Router, interaction: discord.Interaction, scope: Literal["me", "server"] | None
) -> str:
    """`/observer usage`: a member's own usage, or for admins the server's (asked by a member: refused)."""
    guild_id = interaction.guild_id
    assert guild_id is not None  # guild_only group
    is_admin = await _is_admin(interaction)
    if scope == "server" and not is_admin:
        raise app_commands.MissingPermissions(["manage_guild"])
    if scope == "me" or (scope is None and not is_admin):
        return await member_usage(gate, interaction)
    return await server_usage(record, router, gate, guild_id)


async def _is_admin(interaction: discord.Interaction) -> bool:
    try:
        return await may_manage(interaction)
    except app_commands.MissingPermissions:
        return False


async def member_usage(gate: Gate, interaction: discord.Interaction) -> str:
    guild_id = interaction.guild_id
    roles = [role.id for role in getattr(interaction.user, "roles", []) if not role.is_default()]
    limits = (await gate.policies(guild_id)).quotas.limits_for(roles)
    key, now = key_of(guild_id, interaction.user.id), time.time()
    replies = len(gate.ledger.replies(key, now))
    spend = gate.ledger.spend(key, now)
    tokens, usd = sum(s[1] for s in spend), sum(s[2] for s in spend)

    def against(used: str, limit: float | None, unit: str = "") -> str:
        return f"{used}{unit}" + ("" if limit is None else f" of {limit:g}{unit}")

    lines = [
        "**Your usage here**",
        f"replies in the last hour: {against(str(replies), limits.replies_per_hour)}",
        f"tokens in the last day: {against(f'{tokens:,}', limits.tokens_per_day)}",
        f"cost in the last day: ${usd:.4f}" + ("" if limits.usd_per_day is None else f" of ${limits.usd_per_day:.2f}"),
    ]
    over = over_quota(limits, gate.ledger, key, now)
    if over is not None:
        when = "not while this limit is zero" if over.free_at is None else f"in about {wait_words(over.free_at - now)}"
        lines.append(f"You're at a limit; you can ask again {when}.")
    return "\n".join(lines)


async def server_usage(record: Record, router: Router, gate: Gate, guild_id: int) -> str:
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
    budget = router.budget_for(guild_id)
    if budget is not None:
        lines.append(f"daily budget: ${budget:.2f}")
    top = gate.ledger.top(guild_id, time.time(), 10)
    if top:
        lines.append("**top members, last day** (replies this hour, tokens, cost)")
        lines += [f"- <@{user}>: {replies}, {tokens:,}, ${usd:.4f}" for user, replies, tokens, usd in top]
    return "\n".join(lines)
