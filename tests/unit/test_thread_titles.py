"""Thread names from questions: 1–100 characters, no mentions or markdown, cut at graphemes (CJK too)."""

from __future__ import annotations

import regex

from agent.thread_titles import TITLE_LIMIT, thread_title


def test_mentions_markdown_links_and_code_are_taken_out() -> None:
    text = "@Observer **What** should I _name_ my cat? <@123> <#456> <:blob:789> @everyone see https://ex.com/a"
    assert thread_title(text, "@Observer") == "What should I name my cat? see ex.com"
    assert (
        thread_title("@Observer [the docs](https://x.y/z) say `pip install`", "@Observer") == "the docs say pip install"
    )
    assert thread_title("# Heading\n> quoted line", "") == "Heading"
    assert thread_title("@alice asked me", "") == "alice asked me"


def test_only_a_mention_or_a_file_falls_back() -> None:
    assert thread_title("@Observer", "@Observer", fallback="alice") == "alice"
    assert thread_title("   ", "", fallback="x" * 300) == "x" * TITLE_LIMIT


def test_long_text_is_cut_at_a_word_with_an_ellipsis() -> None:
    title = thread_title("word " * 50, "")
    assert len(title) <= TITLE_LIMIT and title.endswith("word…")


def test_japanese_and_emoji_are_cut_whole() -> None:
    title = thread_title("日本の首都はどこですか？" * 20, "")
    assert len(title) == TITLE_LIMIT and title.endswith("…")
    family = "👨‍👩‍👧‍👦"
    title = thread_title(family * 40, "")
    assert len(title) <= TITLE_LIMIT and title.endswith("…")
    clusters = regex.findall(r"\X", title[:-1])
    assert set(clusters) == {family}, "no cluster cut in two"
