"""Snowflakes the record can hold: Discord's ids are 64-bit, the record's columns signed 64-bit (BIGINT).

A gateway payload (or a message read back from history) with an id ≥ 2^63, or negative, passes
discord.py's `int()` and would then fail the record write and the handler; it is dropped where it comes
in, like any other malformed id. What is checked: every `id` and `*_id` field at any depth (the message,
its author, channel, guild, reference, mentions, member …) and the snowflake lists (`roles`,
`mention_roles`). Non-numeric values are left to discord.py's own parsing (which drops them too).
"""

from __future__ import annotations

from typing import Any

import discord

LARGEST = 2**63 - 1
# `*_id` fields that are not snowflakes (a button's own string, the gateway session).
NOT_SNOWFLAKES = frozenset({"custom_id", "session_id", "nonce"})
SNOWFLAKE_LISTS = frozenset({"roles", "mention_roles"})
# A payload nested deeper than this is not Discord's: drop it rather than walk it.
MAX_DEPTH = 32


class SnowflakeOutOfRange(ValueError):
    """Names the field only; the value stays out of logs."""


def _check_value(field: str, value: Any) -> None:
    if isinstance(value, bool):
        return
    if isinstance(value, str):
        text = value.strip()
        if not text.lstrip("-").isdigit():
            return  # not a number at all: discord.py's parser decides
        number = int(text)
    elif isinstance(value, int):
        number = value
    else:
        return
    if not 0 <= number <= LARGEST:
        raise SnowflakeOutOfRange(f"{field}: id out of range")


def check_payload(data: Any, field: str = "d", depth: int = 0) -> None:
    """Raise SnowflakeOutOfRange if any snowflake in the gateway payload `data` is out of range."""
    if depth > MAX_DEPTH:
        raise SnowflakeOutOfRange(f"{field}: nested too deep")
    if isinstance(data, dict):
        for key, value in data.items():
            name = f"{field}.{key}"
            if isinstance(value, dict | list):
                if key in SNOWFLAKE_LISTS and isinstance(value, list):
                    for item in value:
                        if isinstance(item, str | int):
                            _check_value(name, item)
                check_payload(value, name, depth + 1)
            elif isinstance(key, str) and (key == "id" or key.endswith("_id")) and key not in NOT_SNOWFLAKES:
                _check_value(name, value)
    elif isinstance(data, list):
        for item in data:
            if isinstance(item, dict | list):
                check_payload(item, f"{field}[]", depth + 1)


def storable(message: discord.Message) -> bool:
    """A message (read back from history) whose own, author's, channel's and guild's ids fit the record."""
    guild = message.guild
    ids = (message.id, message.author.id, message.channel.id, guild.id if guild is not None else 0)
    return all(0 <= i <= LARGEST for i in ids)
