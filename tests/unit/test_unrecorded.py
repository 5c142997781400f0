"""How far back the recovery pass looks in channels the record never stored a message from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import discord

from discord_adapter.unrecorded import AWAY_MARGIN, last_known_moment

NOW = datetime(2026, 11, 29, 22, 0, tzinfo=UTC)


def at(moment: datetime) -> int:
    return discord.utils.time_snowflake(moment)


def test_a_shard_that_went_away_is_read_back_to_then_even_if_other_shards_recorded_later() -> None:
    away = {1: (NOW - timedelta(hours=1)).timestamp()}
    latest = {10: at(NOW - timedelta(minutes=1))}  # shard 0 kept recording
    assert last_known_moment(away, frozenset({1}), latest) == NOW - timedelta(hours=1) - AWAY_MARGIN


def test_at_a_start_the_newest_recorded_message_is_the_last_known_moment() -> None:
    newest = NOW - timedelta(days=2)
    moment = last_known_moment({}, frozenset({0, 1}), {10: at(newest - timedelta(days=1)), 11: at(newest)})
    assert moment is not None and abs(moment - newest) < timedelta(milliseconds=1)


def test_a_first_start_reads_no_unknown_channel() -> None:
    assert last_known_moment({}, frozenset({0}), {}) is None


def test_the_earliest_of_a_start_and_a_shard_away_wins() -> None:
    away = {1: NOW.timestamp()}
    newest = NOW - timedelta(days=1)
    moment = last_known_moment(away, frozenset({0, 1}), {10: at(newest)})
    assert moment is not None and abs(moment - newest) < timedelta(milliseconds=1)
