"""Recognising Discord's refusal of a reply to a deleted message, and a proxy's repost of a member's words."""

from __future__ import annotations

from types import SimpleNamespace

import discord
import pytest

from discord_adapter.proxies import _same_words
from discord_adapter.tolerant import reference_is_gone
from tests.fakes.discord_server import UNKNOWN_REFERENCE


def _http_error(status: int, body: dict[str, object]) -> discord.HTTPException:
    response = SimpleNamespace(status=status, reason="Bad Request")
    return discord.HTTPException(response, body)  # type: ignore[arg-type]


SYSTEM_MESSAGE = {
    "message": "Invalid Form Body",
    "code": 50035,
    "errors": {
        "message_reference": {
            "_errors": [
                {"code": "REPLIES_CANNOT_REPLY_TO_SYSTEM_MESSAGE", "message": "Cannot reply to a system message"}
            ]
        }
    },
}


@pytest.mark.parametrize(
    ("status", "body"),
    [(400, UNKNOWN_REFERENCE), (400, SYSTEM_MESSAGE), (400, {"message": "Unknown Message", "code": 10008})],
    ids=["deleted", "system-message", "unknown-message-10008"],
)
def test_a_reference_discord_cannot_attach_is_recognised(status: int, body: dict[str, object]) -> None:
    """Deleted (automod, a proxy bot), or a system message (Hermes Agent #11342 saw 10008 too)."""
    assert reference_is_gone(_http_error(status, body))


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (
            400,
            {
                "message": "Invalid Form Body",
                "code": 50035,
                "errors": {
                    "content": {
                        "_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2000 or fewer in length."}]
                    }
                },
            },
        ),
        (404, {"message": "Unknown Channel", "code": 10003}),
        (403, {"message": "Missing Permissions", "code": 50013}),
    ],
    ids=["too-long", "unknown-channel", "forbidden"],
)
def test_other_refusals_are_not_taken_for_a_deleted_reference(status: int, body: dict[str, object]) -> None:
    assert not reference_is_gone(_http_error(status, body))


@pytest.mark.parametrize(
    ("original", "repost", "same"),
    [
        ("@Observer what's the weather? -al", "@Observer what's the weather?", True),  # suffix tag
        ("[hello there]", "hello there", True),  # brackets
        ("pk;hello", "hello", True),
        ("hello", "hello", True),
        ("hello there", "goodbye", False),
        ("hi", "", False),
        ("", "", True),  # files only
        ("x" * 200 + " the point", "the point", False),  # far more than tags differ
    ],
)
def test_a_repost_has_the_same_words_less_the_proxy_tags(original: str, repost: str, same: bool) -> None:
    assert _same_words(original, repost) is same
