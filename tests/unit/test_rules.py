from __future__ import annotations

import pytest

from agent.events import Attachment
from agent.rules import apply_rules
from tests.conftest import make_event

BOT = 999


@pytest.mark.parametrize(
    ("kwargs", "mode", "verdict", "reason"),
    [
        ({"author_id": BOT}, "mentions", "skip", "own message"),
        ({"author_is_bot": True, "mentions_bot": True}, "mentions", "skip", "message from a bot"),
        ({"text": "   "}, "mentions", "skip", "empty message"),
        ({"mentions_bot": True}, "off", "skip", "the bot is off in this channel"),
        ({"mentions_bot": True}, "observe", "skip", "this channel is read-only observation"),
        ({"is_dm": True}, "mentions", "respond", "direct message"),
        ({"mentions_bot": True}, "mentions", "respond", "mentioned"),
        ({"reply_to_bot": True}, "mentions", "respond", "reply to the bot"),
        ({}, "auto", "judge", "auto mode: the judge decides"),
        ({}, "mentions", "skip", "not addressed, judge skipped"),
        (
            {"text": "", "attachments": [Attachment(filename="a.ogg")], "mentions_bot": True},
            "mentions",
            "respond",
            "mentioned",
        ),
    ],
)
def test_cheap_rules(kwargs, mode, verdict, reason):
    kwargs.setdefault("text", "hello")
    outcome = apply_rules(make_event(**kwargs), mode, BOT)
    assert (outcome.verdict, outcome.reason) == (verdict, reason)


def test_a_followed_thread_is_talking_to_the_bot() -> None:
    from agent.events import Event
    from agent.rules import addresses_bot, apply_rules

    event = Event(message_id=1, channel_id=2, author_id=3, author_name="a", text="and then?", in_followed_thread=True)
    assert addresses_bot(event)
    assert apply_rules(event, "mentions", 99).verdict == "respond"
    assert apply_rules(event, "off", 99).verdict == "skip"
