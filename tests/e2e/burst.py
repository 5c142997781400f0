"""A burst of mentions in one channel, and what each member was told (shared by tests and bench)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agent.member_texts import BUSY_REPLY
from tests.fakes.discord_server import FakeDiscord

IN_PROGRESS = "▌"


@dataclass
class Outcome:
    answered: int = 0
    told_busy: int = 0
    told_nothing: int = 0
    status_429: int = 0

    def line(self) -> str:
        return (
            f"answered {self.answered} / told busy {self.told_busy} / told nothing {self.told_nothing} "
            f"/ 429s {self.status_429}"
        )


def outcome(discord: FakeDiscord, asked: list[dict[str, Any]]) -> Outcome:
    """Per question: a finished answer replying to it, else a busy note replying to it or naming its
    author (a note for several members pings them all), else nothing."""
    result = Outcome(status_429=discord.status_429)
    bot_messages = discord.bot_messages()
    for question in asked:
        replies = [m for m in bot_messages if (m.get("message_reference") or {}).get("message_id") == question["id"]]
        author = question["author"]["id"]
        busy_notes = [
            m
            for m in bot_messages
            if BUSY_REPLY in m["content"] and (m in replies or any(u["id"] == author for u in m["mentions"]))
        ]
        if any(BUSY_REPLY not in m["content"] and IN_PROGRESS not in m["content"] for m in replies):
            result.answered += 1
        elif busy_notes:
            result.told_busy += 1
        else:
            result.told_nothing += 1
    return result


def everyone_told(discord: FakeDiscord, asked: list[dict[str, Any]]) -> bool:
    return outcome(discord, asked).told_nothing == 0
