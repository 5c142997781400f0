"""Prefix commands address the bot like a mention, and the prefix is not what the model reads."""

from __future__ import annotations

import pytest

from agent.addressing import address_by_prefix, split_prefix
from agent.config import ObserverConfig
from agent.errors import ConfigError
from agent.rules import apply_rules
from tests.conftest import make_event

BOT = 999
PREFIXES = ["!chat", "!ask"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("!chat Hello! How are you?", ("!chat", "Hello! How are you?")),
        ("  !ask   what time is it", ("!ask", "what time is it")),
        ("!CHAT hi", ("!chat", "hi")),
        ("!chat\nline one\nline two", ("!chat", "line one\nline two")),
        ("!ask", ("!ask", "")),
        ("!chatter is not a prefix", None),
        ("say !chat later", None),
        ("hello", None),
    ],
)
def test_split_prefix(text: str, expected: tuple[str, str] | None) -> None:
    assert split_prefix(text, PREFIXES) == expected


def test_longest_prefix_wins() -> None:
    assert split_prefix("!ask me", ["!a", "!ask"]) == ("!ask", "me")


def test_a_prefixed_message_is_answered_without_the_prefix() -> None:
    event = address_by_prefix(make_event("!chat Hello! How are you?"), PREFIXES)
    assert event.text == "Hello! How are you?" and event.prefix == "!chat"
    assert apply_rules(event, "mentions", BOT).verdict == "respond"
    # Applied twice (door, then ingest): nothing more is taken out.
    again = address_by_prefix(event.model_copy(update={"text": "!chat twice"}), PREFIXES)
    assert again.text == "!chat twice"


def test_unprefixed_and_bots_are_left_alone() -> None:
    plain = make_event("lol")
    assert address_by_prefix(plain, PREFIXES) is plain
    assert apply_rules(plain, "mentions", BOT).verdict == "skip"
    bot = make_event("!chat hi", author_is_bot=True)
    assert address_by_prefix(bot, PREFIXES).text == "!chat hi"


def test_per_guild_prefixes_from_the_model_list() -> None:
    config = ObserverConfig.model_validate({"prefixes": ["!chat"], "guild_prefixes": {"42": ["?q"]}})
    assert config.prefixes_for(42) == ["?q"]
    assert config.prefixes_for(7) == ["!chat"]
    assert config.prefixes_for(None) == ["!chat"]
    assert ObserverConfig().prefixes_for(1) == ["!chat", "!ask"]


def test_an_empty_prefix_is_refused_with_its_place(tmp_path) -> None:
    from agent.config import load_config

    path = tmp_path / "observer.toml"
    path.write_text('[guild_prefixes]\n"42" = ["!q", " "]\n')
    with pytest.raises(ConfigError, match="guild_prefixes.42: each prefix must be 1-32 characters"):
        load_config(path)
