"""Which stored entries a search may return: the persona's and channel's own, and by meaning only where
the entry's World Info rule allows it."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from agent.memory.entries import SEP
from agent.memory.world_info.rules import Rule


def visible_to(meta: dict[str, Any] | None, persona: str, channel: int | None) -> bool:
    """An entry for this persona (or every persona) and this channel (or the whole scope)."""
    meta = meta or {}
    return meta.get("persona", "") in (persona, "") and str(meta.get("channel") or "") in ("", str(channel))


@lru_cache(maxsize=8192)
def stored_ruleby_meaning(stored: str) -> bool:
    try:
        return Rule.from_json(stored).by_meaning
    except (ValueError, TypeError, AttributeError):
        return True


def by_meaning(meta: dict[str, Any] | None) -> bool:
    """Whether a search by meaning may return this entry: knowledge, guidance and Observer's own lore
    always; a World Info entry (stored with its rule) only when vectorized or keyless."""
    stored = str((meta or {}).get("rule") or "")
    return not stored or stored_ruleby_meaning(stored)


def rule_of(meta: dict[str, Any]) -> Rule | None:
    """A lore entry's World Info rule; older entries have only keywords (any one turns them on)."""
    stored = str(meta.get("rule") or "")
    if stored:
        try:
            return Rule.from_json(stored)
        except (ValueError, TypeError, AttributeError):
            return None
    keywords = tuple(k for k in str(meta.get("keywords", "")).split(SEP) if k)
    return Rule(keys=keywords) if keywords else None
