"""Cheap rules that run before any model: most messages are settled here at no cost."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from agent.events import Event

Verdict = Literal["respond", "skip", "judge"]


@dataclass(frozen=True)
class RuleOutcome:
    verdict: Verdict
    reason: str


def addresses_bot(event: Event) -> bool:
    """A DM, a mention, a reply to the bot or a thread it follows: the member is talking to it."""
    return event.is_dm or event.mentions_bot or event.reply_to_bot or event.in_followed_thread


def apply_rules(event: Event, mode: str, bot_user_id: int) -> RuleOutcome:
    if event.author_id == bot_user_id:
        return RuleOutcome("skip", "own message")
    if event.author_is_bot:
        return RuleOutcome("skip", "message from a bot")
    if not event.text.strip() and not event.attachments:
        return RuleOutcome("skip", "empty message")
    if mode == "off":
        return RuleOutcome("skip", "the bot is off in this channel")
    if mode == "observe":
        return RuleOutcome("skip", "this channel is read-only observation")
    if event.is_dm:
        return RuleOutcome("respond", "direct message")
    if event.mentions_bot:
        return RuleOutcome("respond", "mentioned")
    if event.reply_to_bot:
        return RuleOutcome("respond", "reply to the bot")
    if event.in_followed_thread:
        return RuleOutcome("respond", "in a conversation thread")
    if mode == "auto":
        return RuleOutcome("judge", "auto mode: the judge decides")
    return RuleOutcome("skip", "not addressed, judge skipped")
