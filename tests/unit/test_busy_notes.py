"""Busy notes: gathered per channel while the channel waits for its budget, each member named once."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from agent.member_texts import BUSY_REPLY
from discord_adapter.busy_notes import BusyNotes, note_for, take_batch
from discord_adapter.split import DISCORD_LIMIT
from discord_adapter.stream import ChannelBudget


class Channel:
    def __init__(self) -> None:
        self.id = 7
        self.sent: list[tuple[str, Any]] = []
        self.replies: list[tuple[int, str]] = []

    async def send(self, content: str, *, allowed_mentions: Any) -> None:
        self.sent.append((content, allowed_mentions))


def message(channel: Channel, message_id: int, author: int) -> Any:
    async def reply(content: str, *, mention_author: bool) -> None:
        assert mention_author is False
        channel.replies.append((message_id, content))

    return SimpleNamespace(id=message_id, author=SimpleNamespace(id=author), channel=channel, reply=reply)


async def test_members_turned_away_together_share_one_note_that_pings_exactly_them():
    channel = Channel()
    notes = BusyNotes(ChannelBudget(0.0))
    for i in range(10):
        notes.tell(message(channel, 100 + i, 1000 + i % 8))  # two members asked twice
    await notes.drain()
    [(content, allowed)] = channel.sent
    assert content.endswith(BUSY_REPLY)
    assert sorted(u.id for u in allowed.users) == list(range(1000, 1008)), "each member named once"
    assert not allowed.everyone and not allowed.roles
    assert all(content.count(f"<@{1000 + i}>") == 1 for i in range(8))


async def test_a_single_member_is_answered_by_a_reply_to_their_message():
    channel = Channel()
    notes = BusyNotes(ChannelBudget(0.0))
    notes.tell(message(channel, 1, 42))
    await notes.drain()
    assert channel.replies == [(1, BUSY_REPLY)] and not channel.sent


async def test_notes_wait_for_the_channel_budget_and_later_members_join_the_next_note():
    channel = Channel()
    budget = ChannelBudget(0.0, calls=1, per=0.3)
    await budget.wait_turn(channel.id)  # the channel's one call is spent: the first note must wait
    notes = BusyNotes(budget)
    notes.tell(message(channel, 1, 1))
    await asyncio.sleep(0)
    assert not channel.replies and not channel.sent, "no call outside the budget"
    notes.tell(message(channel, 2, 2))
    await notes.drain()
    assert len(channel.sent) == 1 and "<@1>" in channel.sent[0][0] and "<@2>" in channel.sent[0][0]


def test_a_batch_never_exceeds_one_discord_message():
    channel = Channel()
    waiting = [message(channel, i, 10**17 + i) for i in range(300)]
    sizes = []
    while waiting:
        batch = take_batch(waiting)
        authors = list(dict.fromkeys(m.author.id for m in batch))
        assert len(note_for(authors)) <= DISCORD_LIMIT
        sizes.append(len(batch))
    assert sum(sizes) == 300 and len(sizes) > 1
