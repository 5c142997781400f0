from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from discord_adapter.split import split_message


def test_short_text_is_one_message():
    assert split_message("hello") == ["hello"]


def test_paragraph_boundaries_are_preferred():
    text = ("word " * 300).strip() + "\n\n" + ("next " * 300).strip()
    chunks = split_message(text)
    assert len(chunks) == 2 and chunks[0].endswith("word") and chunks[1].startswith("next")


def test_code_fence_is_closed_and_reopened_with_its_language():
    code = "\n".join(f"print({i})  # line {i}" for i in range(200))
    text = "Here is the script:\n\n```python\n" + code + "\n```\nThat's all."
    chunks = split_message(text)
    assert len(chunks) >= 2
    for chunk in chunks:
        assert len(chunk) <= 2000
        assert chunk.count("```") % 2 == 0, f"unbalanced fence in {chunk[:60]!r}…"
    assert chunks[1].startswith("```python\n")
    rebuilt = "\n".join(line for c in chunks for line in c.split("\n") if not line.startswith("```"))
    assert all(f"print({i})" in rebuilt for i in range(200))


def test_japanese_without_spaces_splits_at_sentence_ends():
    sentence = "今日はとても良い天気ですね。"
    chunks = split_message(sentence * 400)
    assert len(chunks) >= 3
    for chunk in chunks:
        assert len(chunk) <= 2000 and chunk.endswith("。")


def test_emoji_sequences_and_combining_marks_are_never_cut():
    family = "👨\u200d👩\u200d👧\u200d👦"
    for unit in (family, "e\u0301", "👍🏽", "🇯🇵"):
        text = unit * (2100 // len(unit) + 5)
        chunks = split_message(text)
        assert "".join(chunks) == text
        for chunk in chunks:
            assert chunk.startswith(unit[0]) and len(chunk) <= 2000
            assert not unicodedata.combining(chunk[0]) and chunk[0] not in "\u200d\ufe0f"


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.sampled_from(["word ", "日本語。", "\n", "\n\n", "```py\n", "```\n", "x = 1\n", "😀", "é", "Привет! "]),
        max_size=1500,
    )
)
def test_every_chunk_fits_and_no_text_is_lost(parts: list[str]):
    text = "".join(parts)
    chunks = split_message(text)
    assert all(len(c) <= 2000 for c in chunks)
    squash = lambda s: "".join(ch for ch in s.replace("```py", "").replace("```", "") if not ch.isspace())  # noqa: E731
    assert squash("".join(chunks)) == squash(text)
