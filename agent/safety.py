"""Output hygiene shared by every door."""

from __future__ import annotations

import re

_MASS = re.compile(r"@(everyone|here)\b", re.IGNORECASE)
_ROLE = re.compile(r"<@&(\d+)>")


def defuse_mentions(text: str) -> str:
    """Make @everyone, @here and role mentions inert (a zero-width space breaks the ping)."""
    return _ROLE.sub("@role", _MASS.sub("@\u200b\\1", text))
