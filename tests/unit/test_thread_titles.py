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


def test_a_title_keeps_what_was_asked_and_drops_only_markup_and_invisible_characters():
    kept = {
        "How do I learn C#?": "How do I learn C#?",
        "is 5 > 3?": "is 5 > 3?",
        "my_var_name vs myVarName": "my_var_name vs myVarName",
        "what does *args and **kwargs do": "what does *args and **kwargs do",
        "__init__.py broken": "__init__.py broken",
        "it costs $5 * 3": "it costs $5 * 3",
        "What should I **name** my cat?": "What should I name my cat?",
        "||spoiler|| and `code`": "spoiler and code",
        "abc\u202edef": "abcdef",  # a direction override could show a name reversed
        "@\u200beveryone hello": "hello",  # Discord's clean text of @everyone
    }
    for question, title in kept.items():
        assert thread_title(question, fallback="F") == title
    for invisible in ("\u200b\u200b", "\u0301\u0301", "\u2066\u2069 "):
        assert thread_title(invisible, fallback="Question from alice") == "Question from alice"
