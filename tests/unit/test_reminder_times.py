"""Reminder times as members write them, in English, Japanese, Portuguese and Russian, read in their
time zone at a fixed clock; recurrences; time zone names."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.schedules.recurrence import parse_every
from agent.schedules.when import WhenError, parse_when, zone_named

# Friday 14 March 2025, 15:30 in Tokyo (06:30 UTC; 09:30 in Moscow; 03:30 in São Paulo).
NOW = datetime(2025, 3, 14, 6, 30, tzinfo=UTC)
TOKYO, SAO_PAULO, MOSCOW = ZoneInfo("Asia/Tokyo"), ZoneInfo("America/Sao_Paulo"), ZoneInfo("Europe/Moscow")


def local(text: str, zone: ZoneInfo) -> str:
    return f"{parse_when(text, zone, NOW).astimezone(zone):%Y-%m-%d %H:%M}"


@pytest.mark.parametrize(
    ("text", "zone", "expected"),
    [
        ("in 2 hours", ZoneInfo("UTC"), "2025-03-14 08:30"),
        ("tomorrow at 9am", ZoneInfo("UTC"), "2025-03-15 09:00"),
        ("at 9", ZoneInfo("UTC"), "2025-03-14 09:00"),  # 06:30 UTC: still today
        ("9pm", ZoneInfo("UTC"), "2025-03-14 21:00"),
        ("next monday 10:00", ZoneInfo("UTC"), "2025-03-17 10:00"),
        ("明日の朝9時に", TOKYO, "2025-03-15 09:00"),
        ("明日の夜8時半", TOKYO, "2025-03-15 20:30"),
        ("2時間後", TOKYO, "2025-03-14 17:30"),
        ("今晩8時", TOKYO, "2025-03-14 20:00"),
        ("amanhã às 9h", SAO_PAULO, "2025-03-15 09:00"),
        ("amanhã às 9", SAO_PAULO, "2025-03-15 09:00"),
        ("daqui a 2 horas", SAO_PAULO, "2025-03-14 05:30"),
        ("sexta às 18:00", SAO_PAULO, "2025-03-14 18:00"),
        ("завтра в 9", MOSCOW, "2025-03-15 09:00"),
        ("через 30 минут", MOSCOW, "2025-03-14 10:00"),
        ("в пятницу в 18:00", MOSCOW, "2025-03-14 18:00"),
    ],
)
def test_times_in_four_languages_at_a_fixed_clock(text: str, zone: ZoneInfo, expected: str):
    assert local(text, zone) == expected


def test_a_time_already_passed_today_means_tomorrow():
    assert local("at 5:00", ZoneInfo("UTC")) == "2025-03-15 05:00"  # 06:30 now


@pytest.mark.parametrize("text", ["yesterday", "blah blah", "", "in 3 years"])
def test_unusable_times_are_one_line_the_member_can_act_on(text: str):
    with pytest.raises(WhenError) as caught:
        parse_when(text, ZoneInfo("UTC"), NOW)
    assert "\n" not in str(caught.value)


@settings(max_examples=60, deadline=None)
@given(
    hours=st.integers(min_value=1, max_value=240),
    zone=st.sampled_from(["UTC", "Asia/Tokyo", "America/Sao_Paulo", "Europe/Moscow", "Asia/Kolkata"]),
    phrase=st.sampled_from(["in {n} hours", "{n}時間後", "em {n} horas", "через {n} часов"]),
)
def test_in_n_hours_is_n_hours_whatever_the_zone_and_language(hours: int, zone: str, phrase: str):
    due = parse_when(phrase.format(n=hours), ZoneInfo(zone), NOW)
    assert due == NOW + timedelta(hours=hours)
    assert due.tzinfo is not None


@pytest.mark.parametrize(
    ("text", "cron"),
    [
        ("every Monday 10:00", "0 10 * * mon"),
        ("every day at 9:30", "30 9 * * *"),
        ("weekdays 18:00", "0 18 * * mon-fri"),
        ("every monday and friday at 6pm", "0 18 * * mon,fri"),
        ("every hour", "0 * * * *"),
        ("0 10 * * mon", "0 10 * * mon"),
    ],
)
def test_recurrences(text: str, cron: str):
    assert parse_every(text) == cron


@pytest.mark.parametrize("text", ["every day 25:00", "sometimes", "61 * * * *"])
def test_bad_recurrences_say_what_to_write(text: str):
    with pytest.raises(WhenError):
        parse_every(text)


def test_time_zones_are_iana_names_with_a_hint():
    assert zone_named("asia/tokyo").key == "Asia/Tokyo"
    assert zone_named("utc").key == "UTC"
    with pytest.raises(WhenError, match="did you mean Asia/Tokyo"):
        zone_named("Tokyo")
    with pytest.raises(WhenError, match="IANA"):
        zone_named("Mars/Olympus")


# ----- daylight saving: a wall-clock phrase is that local time on that date; a duration is elapsed -----
DST_ZONES = ["Europe/Lisbon", "Europe/London", "Europe/Berlin", "America/New_York", "Australia/Sydney"]


def _changes(zone: ZoneInfo) -> list[datetime]:
    """The UTC hours in 2025 when `zone`'s offset changes."""
    start = datetime(2025, 1, 1, tzinfo=UTC)
    hours = [start + timedelta(hours=h) for h in range(365 * 24)]
    return [b for a, b in pairwise(hours) if a.astimezone(zone).utcoffset() != b.astimezone(zone).utcoffset()]


CHANGES = {name: _changes(ZoneInfo(name)) for name in DST_ZONES}


@pytest.mark.parametrize(
    ("text", "zone", "now", "expected"),
    [
        ("tomorrow at 9", "Europe/Lisbon", datetime(2025, 3, 29, 12, tzinfo=UTC), "2025-03-30 09:00 WEST"),
        ("tomorrow at 9", "America/New_York", datetime(2025, 3, 8, 17, tzinfo=UTC), "2025-03-09 09:00 EDT"),
        ("tomorrow at 9", "Europe/London", datetime(2025, 10, 25, 12, tzinfo=UTC), "2025-10-26 09:00 GMT"),
        ("tomorrow at 9", "Europe/Berlin", datetime(2025, 10, 25, 12, tzinfo=UTC), "2025-10-26 09:00 CET"),
        ("in 2 days at 9:00", "Europe/Berlin", datetime(2025, 10, 25, 12, tzinfo=UTC), "2025-10-27 09:00 CET"),
        ("amanhã às 9h", "Europe/Lisbon", datetime(2025, 3, 29, 12, tzinfo=UTC), "2025-03-30 09:00 WEST"),
        ("завтра в 9", "Europe/Berlin", datetime(2025, 3, 29, 12, tzinfo=UTC), "2025-03-30 09:00 CEST"),
        ("明日の朝9時", "Europe/Berlin", datetime(2025, 10, 25, 12, tzinfo=UTC), "2025-10-26 09:00 CET"),
        # A time in the spring gap (01:00 → 02:00 in Lisbon) moves forward; an autumn one that happens twice: the first.
        ("tomorrow at 1:30", "Europe/Lisbon", datetime(2025, 3, 29, 12, tzinfo=UTC), "2025-03-30 02:30 WEST"),
        ("tomorrow at 1:30", "Europe/Lisbon", datetime(2025, 10, 25, 12, tzinfo=UTC), "2025-10-26 01:30 WEST"),
    ],
)
def test_a_wall_clock_phrase_means_that_local_time_across_a_dst_change(
    text: str, zone: str, now: datetime, expected: str
):
    z = ZoneInfo(zone)
    assert f"{parse_when(text, z, now).astimezone(z):%Y-%m-%d %H:%M %Z}" == expected


@pytest.mark.parametrize(
    ("text", "elapsed"),
    [
        ("in 2 hours", timedelta(hours=2)),
        ("через полчаса", timedelta(minutes=30)),
        ("5分後", timedelta(minutes=5)),
        ("em 90 minutos", timedelta(minutes=90)),
    ],
)
def test_a_duration_is_elapsed_time_across_a_dst_change(text: str, elapsed: timedelta):
    # 00:30 UTC on the night Lisbon's clocks go forward (01:00 UTC): "in 2 hours" is two real hours.
    now = datetime(2025, 3, 30, 0, 30, tzinfo=UTC)
    assert parse_when(text, ZoneInfo("Europe/Lisbon"), now) == now + elapsed


@settings(max_examples=80, deadline=None)
@given(
    zone=st.sampled_from(DST_ZONES),
    which=st.integers(min_value=0, max_value=1),
    around=st.integers(min_value=-72 * 60, max_value=72 * 60),
    hour=st.integers(min_value=0, max_value=23),
    minute=st.integers(min_value=0, max_value=59),
    phrase=st.sampled_from(["tomorrow at {h}:{m:02d}", "amanhã às {h}:{m:02d}", "завтра в {h}:{m:02d}"]),
    hours=st.integers(min_value=1, max_value=48),
)
def test_around_dst_changes_wall_clock_phrases_keep_their_time_and_durations_their_length(
    zone: str, which: int, around: int, hour: int, minute: int, phrase: str, hours: int
):
    z = ZoneInfo(zone)
    now = CHANGES[zone][which] + timedelta(minutes=around)
    due = parse_when(phrase.format(h=hour, m=minute), z, now)
    wanted = datetime.combine(now.astimezone(z).date() + timedelta(days=1), datetime.min.time()).replace(
        hour=hour, minute=minute
    )
    assert due == wanted.replace(tzinfo=z).astimezone(UTC)
    local = due.astimezone(z).replace(tzinfo=None)
    if wanted.replace(tzinfo=z).astimezone(UTC).astimezone(z).replace(tzinfo=None) == wanted:  # a time that exists
        assert local == wanted
    else:  # in the spring gap: moved forward by the gap
        assert wanted < local <= wanted + timedelta(hours=1)
    assert parse_when(f"in {hours} hours", z, now) == now + timedelta(hours=hours)


# ----- misreads -----
@pytest.mark.parametrize("text", ["9", "15", "2.5"])
def test_a_bare_number_is_refused_with_a_hint(text: str):
    with pytest.raises(WhenError, match=rf"^{re.escape(text)} what\? e\.g\. 'at .*' or 'in {re.escape(text)} minutes'"):
        parse_when(text, ZoneInfo("UTC"), NOW)


@pytest.mark.parametrize(
    ("text", "zone", "expected"),
    [
        ("friday", ZoneInfo("UTC"), "2025-03-14 09:00"),  # Friday 06:30 now: today, in the morning
        ("next monday", ZoneInfo("UTC"), "2025-03-17 09:00"),
        ("June 1", ZoneInfo("UTC"), "2025-06-01 09:00"),
        ("sexta", SAO_PAULO, "2025-03-14 09:00"),  # 03:30 in São Paulo
        ("в понедельник", MOSCOW, "2025-03-17 09:00"),
        ("friday at 0:00", ZoneInfo("UTC"), "2025-03-21 00:00"),  # a time said is kept, midnight too
    ],
)
def test_a_date_without_a_time_of_day_is_in_the_morning(text: str, zone: ZoneInfo, expected: str):
    assert local(text, zone) == expected


@pytest.mark.parametrize(
    ("text", "elapsed"),
    [
        ("in 1h30", timedelta(hours=1, minutes=30)),
        ("in 1h", timedelta(hours=1)),
        ("in 2h15m", timedelta(hours=2, minutes=15)),
        ("em 1h30", timedelta(hours=1, minutes=30)),
        ("daqui a 2h", timedelta(hours=2)),
        ("через 1h30", timedelta(hours=1, minutes=30)),
    ],
)
def test_hours_written_with_h_after_in_are_a_duration_not_a_clock_time(text: str, elapsed: timedelta):
    assert parse_when(text, ZoneInfo("Europe/Lisbon"), NOW) == NOW + elapsed


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en-US", "2026-03-04 09:00"),
        ("ja", "2026-03-04 09:00"),
        ("pt-BR", "2025-04-03 09:00"),
        ("en-GB", "2025-04-03 09:00"),
    ],
)
def test_a_short_numeric_date_is_read_in_the_members_locale(locale: str, expected: str):
    assert f"{parse_when('03/04', ZoneInfo('UTC'), NOW, locale=locale):%Y-%m-%d %H:%M}" == expected


@pytest.mark.parametrize("name", ["localtime", "posixrules", "Factory", "posix/Europe/Lisbon", "right/UTC"])
def test_system_zone_aliases_are_not_time_zones(name: str):
    with pytest.raises(WhenError, match="IANA"):
        zone_named(name)


def test_iana_names_still_read():
    assert zone_named("Europe/Lisbon").key == "Europe/Lisbon"
    assert zone_named("etc/utc").key == "Etc/UTC"
    assert zone_named("America/Sao_Paulo").key == "America/Sao_Paulo"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("0 10 * * 8", "weekday 0-6"),  # raised IndexError inside the library
        ("0 0 31 2 *", "never comes"),
        ("* * * * *", "more often than once an hour"),
        ("*/30 * * * *", "more often than once an hour"),
    ],
)
def test_a_recurrence_that_cannot_run_well_is_one_line_saying_why(text: str, says: str):
    from agent.schedules.recurrence import parse_every

    with pytest.raises(WhenError, match=says):
        parse_every(text)


def test_a_five_word_english_recurrence_is_not_taken_for_a_crontab_line():
    from agent.schedules.recurrence import parse_every

    assert parse_every("every day at 9 am") == "0 9 * * *"
    assert parse_every("every hour") == "0 * * * *"


@pytest.mark.parametrize(
    ("text", "zone", "expected"),
    [
        # Friday 14 March 2025: 15:30 in Tokyo, 03:30 in São Paulo, 09:30 in Moscow.
        ("tomorrow morning", ZoneInfo("UTC"), "2025-03-15 09:00"),
        ("this evening", ZoneInfo("UTC"), "2025-03-14 20:00"),
        ("tomorrow evening at 8:30", ZoneInfo("UTC"), "2025-03-15 20:30"),
        ("9pm tonight", ZoneInfo("UTC"), "2025-03-14 21:00"),
        ("in half an hour", ZoneInfo("UTC"), "2025-03-14 07:00"),
        ("in an hour and a half", ZoneInfo("UTC"), "2025-03-14 08:00"),
        ("明日の朝", TOKYO, "2025-03-15 09:00"),
        ("今夜", TOKYO, "2025-03-14 20:00"),
        ("1時間半後", TOKYO, "2025-03-14 17:00"),
        ("amanhã de manhã", SAO_PAULO, "2025-03-15 09:00"),
        ("hoje à noite", SAO_PAULO, "2025-03-14 20:00"),
        ("amanhã à noite às 8", SAO_PAULO, "2025-03-15 20:00"),
        ("daqui a meia hora", SAO_PAULO, "2025-03-14 04:00"),
        ("завтра утром", MOSCOW, "2025-03-15 09:00"),
        ("сегодня вечером", MOSCOW, "2025-03-14 20:00"),
        ("завтра вечером в 8", MOSCOW, "2025-03-15 20:00"),
        ("через полтора часа", MOSCOW, "2025-03-14 11:00"),
    ],
)
def test_parts_of_the_day_and_half_hours_as_members_say_them(text: str, zone: ZoneInfo, expected: str):
    # These were refused ("I could not read a time") or read at the wrong hour ("明日の朝" at 15:30).
    assert local(text, zone) == expected


@pytest.mark.parametrize("month", range(1, 13))
def test_a_passed_time_of_day_on_a_months_last_day_means_the_next_morning(month: int):
    # At 14:00 on 30 November, dateparser's "future" read "9am" as 1 November ("already passed"); on
    # 31 December as 1 December of the next year.
    first_of_next = datetime(2026 + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    now = first_of_next - timedelta(hours=10)  # the month's last day, 14:00
    for text in ("9am", "at 9", "в 9", "às 9h", "9時"):
        assert parse_when(text, ZoneInfo("UTC"), now) == first_of_next + timedelta(hours=9), text
    with pytest.raises(WhenError, match="already passed"):
        parse_when("today 9:00", ZoneInfo("UTC"), now)


def test_a_weekday_said_on_that_weekday_after_its_hour_means_next_week():
    friday_afternoon = datetime(2026, 3, 13, 14, 0, tzinfo=UTC)
    for text in ("friday 9:00", "sexta às 9h", "в пятницу в 9", "金曜日の9時"):
        assert parse_when(text, ZoneInfo("UTC"), friday_afternoon) == datetime(2026, 3, 20, 9, 0, tzinfo=UTC), text
