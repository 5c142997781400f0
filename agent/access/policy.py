"""The operator's rules, from `observer.toml` (`[access]`, `[quotas]`, `[flood]`), overlaid per server with
what `/observer access` and `/observer quota` stored in the record."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agent.events import Event

ACCESS_LISTS = ("allow_roles", "block_users", "allow_channels", "block_channels", "admin_roles")
LIMITS = ("replies_per_hour", "tokens_per_day", "usd_per_day")
NO_LIMIT = "none"  # a server's stored "no limit", over a limit in the file


class AccessPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    allow_roles: list[int] = Field(default_factory=list)  # empty: everyone may ask
    block_users: list[int] = Field(default_factory=list)
    allow_channels: list[int] = Field(default_factory=list)  # channel, thread parent or category ids
    block_channels: list[int] = Field(default_factory=list)
    admin_roles: list[int] = Field(default_factory=list)  # besides Manage Server, may change settings
    # Blocked members' and channels' messages still go into the record (false: not even that).
    record_blocked: bool = True
    # Said once to a blocked member who addresses the bot; empty: silence.
    blocked_note: str = Field(default="", max_length=300)


class QuotaLimits(BaseModel):
    """Per member, rolling windows; None: no limit."""

    model_config = ConfigDict(extra="forbid")

    replies_per_hour: int | None = Field(default=None, ge=0)
    tokens_per_day: int | None = Field(default=None, ge=0)
    usd_per_day: float | None = Field(default=None, ge=0)


class RoleQuota(QuotaLimits):
    role: int


class QuotaPolicy(QuotaLimits):
    role: list[RoleQuota] = Field(default_factory=list)

    def limits_for(self, role_ids: list[int] | None) -> QuotaLimits:
        """A member's limits: for each, the most generous among their roles' overrides, else the default."""
        held = set(role_ids or ())
        overrides = [r for r in self.role if r.role in held]
        chosen: dict[str, Any] = {}
        for name in LIMITS:
            values = [getattr(r, name) for r in overrides if name in r.model_fields_set]
            if not values:
                chosen[name] = getattr(self, name)
            else:
                chosen[name] = None if any(v is None for v in values) else max(values)
        return QuotaLimits(**chosen)


class FloodPolicy(BaseModel):
    """A member who addresses the bot `messages` times within `seconds` is flooding: answered once,
    told to slow down, and not answered again until they pause for `seconds`."""

    model_config = ConfigDict(extra="forbid")

    messages: int = Field(default=5, ge=2)
    seconds: float = Field(default=10.0, gt=0)


def overlay_access(base: AccessPolicy, stored: dict[str, Any]) -> AccessPolicy:
    return base.model_copy(update={k: v for k, v in stored.items() if k in AccessPolicy.model_fields})


def _unmarked(values: dict[str, Any]) -> dict[str, Any]:
    return {k: None if v == NO_LIMIT else v for k, v in values.items()}


def overlay_quotas(base: QuotaPolicy, stored: dict[str, Any]) -> QuotaPolicy:
    """Stored values replace the file's; a stored role override replaces that role's whole entry."""
    update: dict[str, Any] = _unmarked({k: stored[k] for k in LIMITS if k in stored})
    roles = {r.role: r for r in base.role}
    for entry in stored.get("role", []):
        roles[int(entry["role"])] = RoleQuota.model_validate(_unmarked(entry))
    update["role"] = list(roles.values())
    return base.model_copy(update=update)


def refusal(policy: AccessPolicy, event: Event) -> str | None:
    """Why the access lists keep this member or place out, or None; read from the event's rights only.
    Role and channel lists apply in servers. Fails closed: a member whose roles the door could not read
    holds none, and a channel whose parents it could not read is on no allow list and may be blocked."""
    rights = event.rights
    if event.author_id in policy.block_users:
        return "the member is blocked"
    if event.is_dm:
        return None
    places = {event.channel_id, *rights.channel_parents}
    if places & set(policy.block_channels):
        return "the channel is blocked"
    if policy.block_channels and not rights.places_known:
        return "the channel's category is unknown and some channels are blocked"
    if policy.allow_channels and not places & set(policy.allow_channels):
        return "the channel is not on the allow list"
    if policy.allow_roles and not rights.holds_any(policy.allow_roles):
        return "the member has none of the allowed roles"
    return None
