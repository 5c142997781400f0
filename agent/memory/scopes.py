"""Who may read what: the one place scope keys are built.

Memory entries, personas and guidance live in a scope: "global", "guild:<id>", or "user:<id>" (a
member's own, from DMs). A persona choice is stored for a place: "channel:<id>" or "guild:<id>".
"""

from __future__ import annotations

GLOBAL = "global"


def guild_scope(guild_id: int) -> str:
    return f"guild:{guild_id}"


def user_scope(user_id: int) -> str:
    return f"user:{user_id}"


def channel_place(channel_id: int) -> str:
    return f"channel:{channel_id}"


def scope_of(guild_id: int | None) -> str:
    """Where something added in this guild (or, outside a guild, for everyone) is kept."""
    return guild_scope(guild_id) if guild_id is not None else GLOBAL


def readable_scopes(guild_id: int | None, user_id: int | None) -> list[str]:
    """A guild reads global and its own entries; a DM reads global and the member's own."""
    if guild_id is not None:
        return [GLOBAL, guild_scope(guild_id)]
    return [GLOBAL, user_scope(user_id)] if user_id is not None else [GLOBAL]


def guidance_scope(guild_id: int | None, user_id: int) -> str:
    """Guidance given in a guild serves that guild; given in a DM, only that member."""
    return guild_scope(guild_id) if guild_id is not None else user_scope(user_id)


def persona_places(guild_id: int | None, channel_id: int) -> list[str]:
    """Where a persona choice applies, most specific first."""
    return [channel_place(channel_id)] + ([guild_scope(guild_id)] if guild_id is not None else [])
