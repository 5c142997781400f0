"""`/observer summary since:` read in English, Japanese, Portuguese and Russian against fixed clocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from agent.since import DEFAULT_SINCE, SinceError, parse_since
from agent.summary import language_of

NOW = datetime(2026, 3, 10, 15, 30, tzinfo=UTC)
DAY, HOUR = timedelta(days=1), timedelta(hours=1)


@pytest.mark.parametrize(
    ("text", "language", "back"),
    [
        ("yesterday", "en", DAY),
        ("since yesterday", "en", DAY),
        ("2h", "en", 2 * HOUR),
        ("90m", "en", timedelta(minutes=90)),
        ("3 days", "en", 3 * DAY),
        ("1 week ago", "en", 7 * DAY),
        ("昨日", "ja", DAY),
        ("一昨日", "ja", 2 * DAY),
        ("3日前", "ja", 3 * DAY),
        ("2時間前", "ja", 2 * HOUR),
        ("ontem", "pt", DAY),
        ("anteontem", "pt", 2 * DAY),
        ("há 3 dias", "pt", 3 * DAY),
        ("2 horas", "pt", 2 * HOUR),
        ("вчера", "ru", DAY),
        ("позавчера", "ru", 2 * DAY),
        ("3 дня назад", "ru", 3 * DAY),
        ("2 часа", "ru", 2 * HOUR),
    ],
)
def test_relative_times_in_four_languages(text: str, language: str, back: timedelta) -> None:
    assert parse_since(text, NOW, language) == NOW - back


def test_a_word_in_another_language_than_the_locale_still_parses() -> None:
    assert parse_since("вчера", NOW, "en") == NOW - DAY
    assert parse_since("昨日", NOW, "pt") == NOW - DAY


def test_another_clock_moves_the_answer_with_it() -> None:
    later = NOW + timedelta(days=40, hours=3)
    assert parse_since("ontem", later, "pt") == later - DAY
    tokyo = later.astimezone(timezone(timedelta(hours=9)))  # an aware clock in any zone: the answer in UTC
    assert parse_since("2h", tokyo, "ja") == later - 2 * HOUR
    assert parse_since("2h", tokyo, "ja").tzinfo == UTC


def test_a_date_and_nothing_at_all() -> None:
    assert parse_since("2026-03-01", NOW, "en") == datetime(2026, 3, 1, tzinfo=UTC)
    assert parse_since(None, NOW) == NOW - DEFAULT_SINCE
    assert parse_since("  ", NOW) == NOW - DEFAULT_SINCE


@pytest.mark.parametrize("text", ["tomorrow", "завтра", "明日", "amanhã"])
def test_the_future_is_refused(text: str) -> None:
    with pytest.raises(SinceError, match="future"):
        parse_since(text, NOW, None)


def test_words_that_name_no_time_are_refused_in_one_line() -> None:
    with pytest.raises(SinceError, match="could not read 'the thing about cats'"):
        parse_since("the thing about cats", NOW, "en")


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("ja", ("ja", "Japanese")),
        ("pt-BR", ("pt", "Portuguese")),
        ("ru", ("ru", "Russian")),
        ("en-US", ("en", "English")),
        ("zh-TW", ("zh", "Traditional Chinese")),
        ("xx", ("en", "English")),
        (None, ("en", "English")),
    ],
)
def test_the_language_of_a_discord_locale(locale: str | None, expected: tuple[str, str]) -> None:
    assert language_of(locale) == expected


@pytest.mark.parametrize(
    ("text", "language", "back"),
    [
        ("昨日から", "ja", DAY),
        ("2時間前から", "ja", 2 * HOUR),
        ("desde ontem", "pt", DAY),
        ("nas últimas 2 horas", "pt", 2 * HOUR),
        ("с вчерашнего дня", "ru", DAY),
        ("за 3 дня", "ru", 3 * DAY),
        ("last 2 hours", "en", 2 * HOUR),
        ("the past 3 days", "en", 3 * DAY),
        ("half an hour", "en", timedelta(minutes=30)),
    ],
)
def test_since_words_in_every_language_read_like_the_time_they_name(text: str, language: str, back: timedelta):
    assert parse_since(text, NOW, language) == NOW - back


def test_a_time_of_day_is_the_members_own():
    # 9am in Lisbon (UTC+0 then) is 09:00 UTC; in São Paulo (UTC-3) 12:00 UTC.
    assert parse_since("9am", NOW, "en", "Europe/Lisbon") == datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    assert parse_since("9am", NOW, "en", "America/Sao_Paulo") == datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def test_a_time_of_day_not_reached_yet_today_is_yesterdays():
    # At 00:30 in Tokyo, "since 9am" is yesterday's 9am there (00:00 UTC on 10 March), not a future time.
    assert parse_since("9am", NOW, "en", "Asia/Tokyo") == datetime(2026, 3, 10, 0, 0, tzinfo=UTC)
    assert parse_since("9時", NOW, "ja", "Asia/Tokyo") == datetime(2026, 3, 10, 0, 0, tzinfo=UTC)
