"""Prefix commands (`!chat hello`, `!ask …`): a member addresses the bot as with a mention.

The prefix is addressing, not content: it is taken out of the text the models read and the record
keeps, and the event remembers which prefix was used (so applying this twice changes nothing)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from agent.events import Event

DEFAULT_PREFIXES = ("!chat", "!ask")


def split_prefix(text: str, prefixes: Sequence[str]) -> tuple[str, str] | None:
    """(prefix, rest) when `text` starts with one of `prefixes` as a word of its own (case-insensitive:
    `!Chat hi`, `!chat\\nhi`, a bare `!chat`), else None. `!chatter` is not `!chat`."""
    stripped = text.lstrip()
    # Longest first: with `!a` and `!ask`, `!ask hi` is `!ask`.
    for prefix in sorted((p.strip() for p in prefixes if p.strip()), key=len, reverse=True):
        match = re.match(re.escape(prefix) + r"(?=\s|$)", stripped, flags=re.IGNORECASE)
        if match:
            return prefix, stripped[match.end() :].strip()
    return None


def address_by_prefix(event: Event, prefixes: Sequence[str]) -> Event:
    """The event as the bot should read it: a prefixed message addresses the bot, without the prefix."""
    if event.prefix or event.author_is_bot:
        return event
    found = split_prefix(event.text, prefixes)
    if found is None:
        return event
    prefix, rest = found
    return event.model_copy(update={"text": rest, "prefix": prefix, "mentions_bot": True})
