"""SillyTavern macros in card fields and lore, filled when a prompt is built."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from agent.memory.world_info.macros import MacroContext, fill_macros

NOW = datetime(2026, 11, 29, 21, 5, tzinfo=UTC)  # a Sunday


def ctx(**kw: object) -> MacroContext:
    return MacroContext(char="Seraphina", user="Ana", now=NOW, rng=random.Random(7), **kw)  # type: ignore[arg-type]


def test_names_time_and_date():
    text = "{{char}} greets {{user}} ({{ User }}) at {{time}} on {{weekday}}, {{date}} / {{isodate}}."
    assert fill_macros(text, ctx()) == "Seraphina greets Ana (Ana) at 21:05 on Sunday, November 29, 2026 / 2026-11-29."
    assert fill_macros("<USER> meets <BOT>; {char}", ctx()) == "Ana meets Seraphina; Seraphina"


def test_comments_newlines_trim_and_noop():
    assert fill_macros("a{{// the author's note}}b", ctx()) == "ab"
    assert fill_macros("line{{newline}}next", ctx()) == "line\nnext"
    assert fill_macros("keep   {{trim}}   \n  this", ctx()) == "keepthis"
    assert fill_macros("x{{noop}}y", ctx()) == "xy"


def test_random_and_pick():
    seen = {fill_macros("{{random:red,green,blue}}", MacroContext(char="c", rng=random.Random(i))) for i in range(40)}
    assert seen == {"red", "green", "blue"}
    assert fill_macros("{{random::a, b::c}}", ctx()) in {"a, b", "c"}
    # pick: the same text always picks the same option (SillyTavern keeps it stable per chat)
    picks = {
        fill_macros("Weather: {{pick:rain,sun,snow}}", MacroContext(char="c", rng=random.Random(i))) for i in range(20)
    }
    assert len(picks) == 1


def test_idle_duration_and_roll():
    assert fill_macros("{{idle_duration}}", ctx(idle=timedelta(hours=3, minutes=2))) == "3 hours"
    assert fill_macros("{{idle_duration}}", ctx()) == "just now"
    assert 2 <= int(fill_macros("{{roll:2d6}}", ctx())) <= 12


def test_nested_macros_are_filled_inner_first():
    seen = {
        fill_macros("{{random:{{user}},friend}}", MacroContext(char="c", user="Ana", rng=random.Random(i)))
        for i in range(40)
    }
    assert seen == {"Ana", "friend"}
    assert fill_macros("{{pick:{{char}},{{char}}}} waves", ctx()) == "Seraphina waves"
    assert fill_macros("{{// a note about {{user}} }}done", ctx()) == "done"
    assert fill_macros("{{unknown:{{user}}}}", ctx()) == "{{unknown:Ana}}"  # inner filled, outer left as written
    # What a macro is filled with is never read as a macro: a member may be named "{{char}}".
    assert fill_macros("Hi {{user}}", MacroContext(char="Seraphina", user="{{char}}")) == "Hi {{char}}"
    assert fill_macros("{{char}}}} and {{user", ctx()) == "Seraphina}} and {{user"


def test_unknown_macros_are_left_as_written():
    assert fill_macros("{{getvar::x}} {{ unknown }} {{", ctx()) == "{{getvar::x}} {{ unknown }} {{"


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("{}:/,<> abtrimnewlchaseUSERBOTdx0123456789\n")) | st.characters(), max_size=200
    )
)
def test_macros_never_crash_on_any_text(text: str):
    out = fill_macros(text, ctx(idle=timedelta(seconds=5)))
    assert isinstance(out, str)
    if "{" not in text and "<" not in text:
        assert out == text
