"""Filling macros in what one reply is given: the persona's text and the lore chosen for it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from agent.events import ChatLine, Event, Snippet
from agent.memory.world_info.macros import MacroContext, fill_macros


def macro_context(event: Event, speaker: str, recent: Sequence[ChatLine]) -> MacroContext:
    """`{{char}}` is who speaks, `{{user}}` the member asking; `{{idle_duration}}` the time since the
    member's previous message in the recent window."""
    now = event.created_at if event.created_at.tzinfo else event.created_at.replace(tzinfo=UTC)
    before = [line.created_at for line in recent if line.author == event.author_name and line.created_at is not None]
    idle = None
    if before:
        last = max(before)
        idle = now - (last if last.tzinfo else last.replace(tzinfo=UTC))
    return MacroContext(char=speaker, user=event.author_name or "User", now=now or datetime.now(UTC), idle=idle)


def fill_snippets(snippets: Sequence[Snippet], ctx: MacroContext) -> list[Snippet]:
    return [
        s.model_copy(update={"text": fill_macros(s.text, ctx)}) if "{" in s.text or "<" in s.text else s
        for s in snippets
    ]
