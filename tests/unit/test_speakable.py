from __future__ import annotations

import pytest

from agent.voice.speakable import has_sounds, speakable

SILENT = ["...", "…", "(^_^)", "!!!", "😀🎉", "👍🏽", "🇯🇵", "♪♪♪", "```py\nprint(1)\n```", "<:smile:1234>", "-", " "]
SPOKEN = ["Sure.", "2", "Yes 😀", "はい。", "Да!", "ok...", "```\ncode\n```\nDone."]


@pytest.mark.parametrize("text", SILENT)
def test_text_with_nothing_to_say_has_no_sounds(text: str):
    assert not has_sounds(text), speakable(text)


@pytest.mark.parametrize("text", SPOKEN)
def test_text_with_words_or_digits_has_sounds(text: str):
    assert has_sounds(text)


def test_emoji_mentions_and_timestamps_are_not_read_out():
    said = speakable("Meet <@123> in <#456> at <t:1700000000:R> 🎉 **now**! <a:wave:99>")
    assert said == "Meet in at now!"
