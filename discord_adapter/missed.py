"""Which of a channel's messages the record is missing: not only those after the newest recorded one,
but any hole a failed write or a crash during a database fault left behind. History is read newest
first, back from where live traffic began, page by page, and compared with the record; reading stops at
the first page the record holds whole, or after OBSERVER_CATCHUP_MESSAGES."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from datetime import datetime

import discord

from agent.member_texts import DEPENDENCY_DOWN_NOTE, RECORD_DELAYED_NOTE

WAITING_LINES = (RECORD_DELAYED_NOTE, DEPENDENCY_DOWN_NOTE)
PAGE = 100  # what Discord hands back per history call

Known = Callable[[list[int]], Awaitable[set[int]]]


async def missed_messages(
    channel: discord.abc.Messageable,
    *,
    before: int | None,
    since: datetime,
    limit: int,
    known: Known,
    in_memory: Collection[int] = (),
) -> list[discord.Message]:
    """The channel's messages before `before` (all when None), back to `since`, that neither the record
    (`known`) nor this process (`in_memory`: taken in, not yet written) has; oldest first."""
    missing: list[discord.Message] = []
    page: list[discord.Message] = []
    anchor = discord.Object(before) if before is not None else None

    async def settle() -> bool:
        """Compare one page with the record; True when it held the whole page (nothing older to find)."""
        ids = [m.id for m in page if m.id not in in_memory]
        have = await known(ids)
        gaps = [m for m in page if m.id not in have and m.id not in in_memory]
        missing.extend(gaps)
        return not gaps

    async for message in channel.history(limit=limit, before=anchor, oldest_first=False):
        if message.created_at < since:
            break
        page.append(message)
        if len(page) == PAGE:
            whole = await settle()
            page = []
            if whole:
                return sorted(missing, key=lambda m: m.id)
    if page:
        await settle()
    return sorted(missing, key=lambda m: m.id)


def notes_by_question(messages: list[discord.Message]) -> dict[int, tuple[int, ...]]:
    """Our "I'll answer when I can" lines among missed messages, by the question they reply to: the
    answer replaces the line instead of following it."""
    found: dict[int, tuple[int, ...]] = {}
    for message in messages:
        reference = message.reference
        if message.author.bot and reference is not None and reference.message_id is not None:
            if message.content in WAITING_LINES:
                found[reference.message_id] = (message.id,)
    return found
