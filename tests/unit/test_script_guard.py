"""A local model answers in the member's writing system (agent/models/script_guard.py): which messages
are guarded, which tokens each guard leaves out, and the masks kept beside the model file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from agent.models.script_guard import banned_tokens, guard_for, script_only


def test_latin_and_cyrillic_messages_are_guarded_and_questions_about_languages_are_not():
    assert guard_for("How many days are in a week?") == "latin"
    assert guard_for("Qual é a capital do Brasil?") == "latin"
    assert guard_for("Сколько дней в неделе?") == "cyrillic"
    assert guard_for("Что такое Python?") == "cyrillic"  # Latin words in Russian text
    assert guard_for("日本の首都はどこですか？") is None  # Japanese has its own guard
    assert guard_for("중국의 수도는?") is None
    assert guard_for("2 + 2?") is None
    assert guard_for("How do you say cat in Japanese?") is None
    assert guard_for("Como se diz gato em japonês?") is None
    assert guard_for("Translate 'good morning' to Russian") is None
    assert guard_for("Как будет «кот» по-английски?") is None
    assert guard_for("what does 猫 mean?") is None  # writes the character itself


class Vocabulary:
    """llama-cpp-python's `Llama` as the guard reads it: n_vocab(), detokenize(ids) -> bytes, model_path."""

    def __init__(self, pieces: list[bytes], model_path: str = "") -> None:
        self.pieces = pieces
        self.model_path = model_path
        self.scans = 0

    def n_vocab(self) -> int:
        self.scans += 1
        return len(self.pieces)

    def detokenize(self, tokens: list[int]) -> bytes:
        return b"".join(self.pieces[t] for t in tokens)


PIECES = ["The", " week", "В", " неделю", "東京", "です", "里斯", "한국", " 7", "Москва", "é", "。"]


def vocabulary(path: str = "") -> Vocabulary:
    return Vocabulary([p.encode() for p in PIECES] + ["东".encode()[:2]], path)  # and half a character


def test_a_latin_message_cannot_get_cyrillic_or_east_asian_tokens_a_cyrillic_one_only_not_east_asian():
    words = vocabulary()
    assert [PIECES[i] for i in banned_tokens(words, "latin")] == [
        "В",
        " неделю",
        "東京",
        "です",
        "里斯",
        "한국",
        "Москва",
    ]
    assert [PIECES[i] for i in banned_tokens(words, "cyrillic")] == ["東京", "です", "里斯", "한국"]
    scores = np.arange(len(words.pieces), dtype=np.float32)
    masked = script_only(words, "latin")(None, scores.copy())
    allowed = [i for i in range(len(scores)) if np.isfinite(masked[i])]
    assert allowed == [0, 1, 8, 10, 11, 12]
    assert all(masked[i] == scores[i] for i in allowed)


@given(st.text(alphabet=st.characters(codec="latin-1", categories=["L", "N", "P", "Zs"]), min_size=1, max_size=12))
def test_no_latin_text_is_ever_left_out(piece: str):
    words = Vocabulary([piece.encode()])
    assert len(banned_tokens(words, "latin")) == 0
    assert len(banned_tokens(words, "cyrillic")) == 0


def test_masks_are_read_once_kept_beside_the_model_and_remade_when_the_file_changes(tmp_path: Path):
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF one")
    first = vocabulary(str(model))
    expected = banned_tokens(first, "latin").tolist()
    assert first.scans == 1 and len(list(tmp_path.glob("model.gguf.scripts-*.npz"))) == 1
    again = vocabulary(str(model))  # a new process loading the same file
    assert banned_tokens(again, "latin").tolist() == expected and again.scans == 0
    model.write_bytes(b"GGUF two, another model")
    changed = vocabulary(str(model))
    banned_tokens(changed, "cyrillic")
    assert changed.scans == 1
    assert len(list(tmp_path.glob("model.gguf.scripts-*.npz"))) == 1, "the old file's masks are gone"


def test_a_cache_that_cannot_be_written_only_costs_the_rescan(tmp_path: Path):
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")
    stat = model.stat()
    # Where the cache would be written is taken (as a folder that cannot be written is, even for root).
    (tmp_path / f"model.gguf.scripts-{stat.st_size}-{int(stat.st_mtime)}.npz.partial.npz").mkdir()
    words = vocabulary(str(model))
    assert len(banned_tokens(words, "latin")) == 7 and words.scans == 1
    assert not list(tmp_path.glob("*.npz.partial.npz/*")) and len(list(tmp_path.glob("*.npz"))) == 1
