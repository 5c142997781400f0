"""Japanese answers in Japanese characters (agent/models/japanese_script.py): which questions are
guarded, which characters are Chinese-only, and that such tokens can no longer be sampled."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from agent.models.japanese_script import foreign_han, wants_japanese_script
from agent.models.script_guard import banned_tokens, script_only

# Every kanji of JIS X 0208 (the everyday Japanese set): EUC-JP rows 16-84, two bytes 0xA1-0xFE each.
JIS_X_0208_KANJI = [
    ch
    for row in range(0xB0, 0xF5)
    for cell in range(0xA1, 0xFF)
    if (ch := bytes([row, cell]).decode("euc_jp", errors="ignore"))
]


def test_a_question_with_kana_is_guarded_one_in_chinese_or_about_chinese_characters_is_not():
    assert wants_japanese_script("日本の首都はどこですか？")
    assert wants_japanese_script("ｶﾀｶﾅだけ")  # half-width katakana
    assert not wants_japanese_script("中国的首都是哪里？")  # Chinese: no kana
    assert not wants_japanese_script("「东」という字は何ですか？")  # asks about a Chinese form itself
    assert not wants_japanese_script("What is the capital of Japan?")


def test_simplified_chinese_forms_are_foreign_and_their_japanese_forms_are_not():
    for chinese, japanese in [("东京", "東京"), ("语", "語"), ("说", "説"), ("这", "這"), ("书", "書"), ("门", "門")]:
        assert foreign_han(chinese), chinese
        assert not foreign_han(japanese), japanese
    assert not foreign_han("國學")  # old Japanese forms are Japanese
    assert not foreign_han("Tokyo, とうきょう, Токио")


@given(st.text(alphabet=st.sampled_from(JIS_X_0208_KANJI), min_size=1, max_size=20))
def test_no_everyday_japanese_kanji_is_ever_taken_for_chinese(text: str):
    assert len(JIS_X_0208_KANJI) > 6000
    assert not foreign_han(text)


class Vocabulary:
    """llama-cpp-python's `Llama` as the guard reads it: n_vocab() and detokenize(ids) -> bytes."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces

    def n_vocab(self) -> int:
        return len(self.pieces)

    def detokenize(self, tokens: list[int]) -> bytes:
        return b"".join(self.pieces[t] for t in tokens)


def test_tokens_holding_a_chinese_only_character_cannot_be_sampled_and_the_rest_are_untouched():
    pieces = ["東京", "东京", "です", "东", "。", "Tokyo", "说明"]
    vocabulary = Vocabulary([p.encode() for p in pieces] + ["东".encode()[:2]])  # and half a character
    assert [pieces[i] for i in banned_tokens(vocabulary, "japanese")] == ["东京", "东", "说明"]
    scores = np.arange(len(vocabulary.pieces), dtype=np.float32)
    masked = script_only(vocabulary, "japanese")(np.array([], dtype=np.intc), scores.copy())
    allowed = [i for i in range(len(scores)) if np.isfinite(masked[i])]
    assert allowed == [0, 2, 4, 5, 7]
    assert all(masked[i] == scores[i] for i in allowed)
