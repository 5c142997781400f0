"""Discord message links in a member's text (agent/links.py), and how linked messages read in a prompt."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agent.events import Attachment, LinkedMessage
from agent.links import MessageLink, find_links, render_linked

G, C, M = 111111111111111111, 222222222222222222, 333333333333333333
LINK = MessageLink(G, C, M)


@pytest.mark.parametrize(
    "host",
    [
        "discord.com",
        "ptb.discord.com",
        "canary.discord.com",
        "www.discord.com",
        "discordapp.com",
        "ptb.discordapp.com",
        "canary.discordapp.com",
        "DISCORD.COM",
    ],
)
def test_every_discord_host_counts(host: str):
    assert find_links(f"see https://{host}/channels/{G}/{C}/{M} please") == [LINK]


def test_direct_message_links_have_no_guild():
    assert find_links(f"https://discord.com/channels/@me/{C}/{M}") == [MessageLink(None, C, M)]


def test_several_links_in_order_each_message_once():
    other = MessageLink(G, C, M + 1)
    text = (
        f"https://discord.com/channels/{G}/{C}/{M + 1} and https://discord.com/channels/{G}/{C}/{M}\n"
        f"again https://ptb.discord.com/channels/{G}/{C}/{M + 1}"
    )
    assert find_links(text) == [other, LINK]


@pytest.mark.parametrize(
    "text",
    [
        f"<https://discord.com/channels/{G}/{C}/{M}>",  # embed suppressed: still a link the member shares
        f"[that message](https://discord.com/channels/{G}/{C}/{M})",  # masked link
        f"||https://discord.com/channels/{G}/{C}/{M}||",  # spoiler
        f"(https://discord.com/channels/{G}/{C}/{M}).",
        f"https://discord.com/channels/{G}/{C}/{M}?foo=1",
        f"https://discord.com/channels/{G}/{C}/{M}#x",
        f"http://discord.com/channels/{G}/{C}/{M}",
    ],
)
def test_links_in_markup_count(text: str):
    assert find_links(text) == [LINK]


@pytest.mark.parametrize(
    "text",
    [
        f"`https://discord.com/channels/{G}/{C}/{M}`",  # inline code: shown as text, not a link
        f"``https://discord.com/channels/{G}/{C}/{M}``",
        f"```\nlog: https://discord.com/channels/{G}/{C}/{M}\n```",  # a code block
        f"```py\nurl = 'https://discord.com/channels/{G}/{C}/{M}'```",
    ],
)
def test_links_in_code_do_not_count(text: str):
    assert find_links(text) == []


def test_a_link_after_code_still_counts():
    text = f"`code` then https://discord.com/channels/{G}/{C}/{M} and ```x``` done"
    assert find_links(text) == [LINK]


def test_an_unclosed_backtick_is_plain_text():
    assert find_links(f"it's a ` then https://discord.com/channels/{G}/{C}/{M}") == [LINK]


@pytest.mark.parametrize(
    "text",
    [
        f"https://discord.com/channels/{G}/{C}",  # a channel, not a message
        f"https://discord.com/channels/{G}",
        f"https://discord.com/channels/{G}/{C}/{M}/extra",
        f"https://discord.com/channels/{G}/{C}/{M}1234567",  # 25 digits: no snowflake
        f"https://discord.com/channels/{G}/{C}/9999999999999999999",  # over 2^63 - 1
        f"https://discord.com/channels/{G}/{C}/0",
        f"https://discord.com/channels/abc/{C}/{M}",
        f"https://discord.com/channels/@you/{C}/{M}",
        f"https://evil.com/channels/{G}/{C}/{M}",
        f"https://discord.com.evil.com/channels/{G}/{C}/{M}",
        f"https://discord.gg/channels/{G}/{C}/{M}",
        f"https://notdiscord.com/channels/{G}/{C}/{M}",
        f"discord.com/channels/{G}/{C}/{M}",  # no scheme: Discord does not make it a link
        "",
    ],
)
def test_malformed_links_do_not_count(text: str):
    assert find_links(text) == []


def test_linked_messages_render_framed_numbered_and_cut():
    at = datetime(2024, 5, 1, 14, 3, tzinfo=UTC)
    linked = [
        LinkedMessage(author="alice", created_at=at, channel_name="general", text="the plan is " + "x" * 100),
        LinkedMessage(not_read="a message I could not read"),
        LinkedMessage(
            author="bob",
            created_at=at.replace(tzinfo=None),  # the record keeps UTC without a zone (SQLite)
            text="notes attached",
            attachments=[Attachment(filename="notes.txt", text="line one")],
        ),
    ]
    text = render_linked(linked, left_out=2, chars=40)
    assert text.startswith("[link 1: a message by alice in #general, 2024-05-01 14:03 UTC]\nthe plan is ")
    assert "[cut: first 40 of 112 characters]\n[end of link 1]" in text
    assert "\n[link 2: a message I could not read]\n" in text
    assert "[link 3: a message by bob, 2024-05-01 14:03 UTC]\nnotes attached" in text
    assert text.endswith("[2 more message links not read]")
    whole = render_linked(linked[2:], chars=1000)
    assert whole == (
        "[link 1: a message by bob, 2024-05-01 14:03 UTC]\nnotes attached \n[attachment: notes.txt]\nline one\n"
        "[end of notes.txt]\n[end of link 1]"
    )
