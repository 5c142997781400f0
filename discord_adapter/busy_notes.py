"""Busy notes inside the channel budget: every member turned away is told, none draws a 429.

A burst of questions in one channel (100 at once) overflows its queue by dozens. One reply per member
would spend the channel's whole budget (4 calls per 5 s) for a minute and a half, delaying the answers
being written there, and without the budget it draws 429s until discord.py gives up and some members are
told nothing. So the notes of one channel are gathered while they wait for the channel's next turn and
go out together: a single member's note replies to their message; several members are named in one
message that pings exactly them (allowed_mentions: those users, nothing else), as many as fit in one
Discord message. A member sees a definite answer addressed to them, within seconds, in any burst.
"""

from __future__ import annotations

import asyncio
import logging

import discord

from agent.member_texts import BUSY_REPLY
from discord_adapter.split import DISCORD_LIMIT
from discord_adapter.stream import ChannelBudget
from discord_adapter.tolerant import reply_to

log = logging.getLogger(__name__)


class BusyNotes:
    def __init__(self, budget: ChannelBudget) -> None:
        self.budget = budget
        self._waiting: dict[int, list[discord.Message]] = {}  # per channel, the messages not yet answered
        self._senders: dict[int, asyncio.Task[None]] = {}

    def tell(self, message: discord.Message) -> None:
        """Tell the author of `message` the bot is busy, in the channel's next turn (with others waiting)."""
        channel_id = message.channel.id
        self._waiting.setdefault(channel_id, []).append(message)
        sender = self._senders.get(channel_id)
        if sender is None or sender.done():
            self._senders[channel_id] = asyncio.create_task(self._send(channel_id))

    async def _send(self, channel_id: int) -> None:
        while self._waiting.get(channel_id):
            try:
                async with self.budget.turn(channel_id):
                    batch = take_batch(self._waiting[channel_id])
                    await post(batch)
            except discord.HTTPException as exc:
                log.warning("busy note for %d message(s) in channel %s not sent: %s", len(batch), channel_id, exc)
        self._waiting.pop(channel_id, None)

    async def drain(self) -> None:
        """Wait until every note asked for has been sent (tests, shutdown)."""
        while pending := [task for task in self._senders.values() if not task.done()]:
            await asyncio.gather(*pending, return_exceptions=True)


def note_for(members: list[int]) -> str:
    return " ".join(f"<@{member}>" for member in members) + " " + BUSY_REPLY


def take_batch(waiting: list[discord.Message]) -> list[discord.Message]:
    """The oldest waiting messages whose authors fit in one note (each author named once)."""
    batch: list[discord.Message] = []
    authors: list[int] = []
    while waiting:
        author = waiting[0].author.id
        named = authors if author in authors else [*authors, author]
        if len(note_for(named)) > DISCORD_LIMIT and batch:
            break
        batch.append(waiting.pop(0))
        authors = named
    return batch


async def post(batch: list[discord.Message]) -> None:
    authors = list(dict.fromkeys(message.author.id for message in batch))
    if len(authors) == 1:
        await reply_to(batch[-1], BUSY_REPLY, mention_author=False)
        return
    await batch[-1].channel.send(
        note_for(authors),
        allowed_mentions=discord.AllowedMentions(
            everyone=False, roles=False, replied_user=False, users=[discord.Object(id=a) for a in authors]
        ),
    )
