"""A local model answers in the member's writing system (agent/models/script_guard.py): which messages
are guarded, which tokens each guard leaves out, and the masks kept beside the model file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from agent.models.script_guard import banned_tokens, cache_file, guard_for, script_only


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
    # Found by a tester: asking in other languages than these three was guarded.
    for asks in (
        "¿Cómo se dice gato en japonés?",
        "Comment dit-on merci en japonais ?",
        "Wie sagt man danke auf Russisch?",
        "Як японською буде «дякую»?",
        "How do you say hello in Mandarin?",
        "Come si dice grazie in cinese?",
        "Как по-японски будет «кошка»?",
    ):
        assert guard_for(asks) is None, asks
    # Everyday words that only look like language names stay guarded (found by a reviewer).
    for plain in (
        "How does a machine learn?",
        "Qual é a capital da China?",
        "Explain JavaScript closures",
        "What is the idiomatic way to read a file?",
        "How do you write a for loop in Python?",
        "Which programming language is fastest?",
        "Translate this function to Rust",
    ):
        assert guard_for(plain) == "latin", plain
    for plain in ("Розмова про погоду", "Нужен перевод в банк", "Какой язык программирования выбрать?"):
        assert guard_for(plain) == "cyrillic", plain
    # Observer's own notes for the model are not the member's words: a bare ping decides nothing.
    assert guard_for("(a mention with no text: they are saying hello)") is None
    assert guard_for("今日は [attached: photo.png]") is None
    assert guard_for("what is this? [attached: notes.txt]") == "latin"


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
# 鶴 (e9 b6 b4) and Ж (d0 96) as byte-level tokens, as a BPE vocabulary holds rare characters; and
# "é" cut in two (c3 a9), a Latin letter.
BYTES = {"鶴 opens": b"\xe9", "鶴 goes on": b"\xb6", "鶴 ends": b"\xb4", "Ж opens": b"\xd0", "Ж ends": b"\x96"}
BYTES |= {"é opens": b"\xc3", "é ends": b"\xa9"}
LABELS = PIECES + list(BYTES)


def vocabulary(path: str = "") -> Vocabulary:
    return Vocabulary([p.encode() for p in PIECES] + list(BYTES.values()), path)


def labels(ids: object) -> list[str]:
    return [LABELS[int(i)] for i in ids]  # type: ignore[attr-defined]


def test_a_latin_message_cannot_get_cyrillic_or_east_asian_tokens_a_cyrillic_one_only_not_east_asian():
    words = vocabulary()
    assert labels(banned_tokens(words, "latin")) == [
        "В",
        " неделю",
        "東京",
        "です",
        "里斯",
        "한국",
        "Москва",
        "鶴 opens",
        "Ж opens",
    ]
    assert labels(banned_tokens(words, "cyrillic")) == ["東京", "です", "里斯", "한국", "鶴 opens"]
    scores = np.arange(len(words.pieces), dtype=np.float32)
    masked = script_only(words, "latin")(np.array([], dtype=np.intc), scores.copy())
    allowed = [LABELS[i] for i in range(len(scores)) if np.isfinite(masked[i])]
    assert allowed == ["The", " week", " 7", "é", "。", "鶴 goes on", "鶴 ends", "Ж ends", "é opens", "é ends"]
    assert all(masked[i] == scores[i] for i in range(len(scores)) if np.isfinite(masked[i]))


def test_a_character_half_written_cannot_be_finished_as_a_left_out_one():
    """Found by a tester: 鶴 came through as three byte tokens to an English question."""
    words = vocabulary()
    index = {label: i for i, label in enumerate(LABELS)}

    def allowed_after(guard: str, *written: str) -> set[str]:
        scores = np.zeros(len(words.pieces), dtype=np.float32)
        ids = np.array([index["The"], *(index[w] for w in written)], dtype=np.intc)
        masked = script_only(words, guard)(ids, scores)  # type: ignore[arg-type]
        return {LABELS[i] for i in range(len(scores)) if np.isfinite(masked[i])}

    # The prompt's own bytes or a model that opened one anyway: 鶴 is not finished, é is.
    assert "鶴 ends" not in allowed_after("latin", "鶴 opens", "鶴 goes on")
    assert "鶴 goes on" in allowed_after("latin", "鶴 opens")  # still half: checked at the next token
    assert "Ж ends" not in allowed_after("latin", "Ж opens")
    assert "Ж ends" in allowed_after("cyrillic", "Ж opens")
    assert "é ends" in allowed_after("latin", "é opens")
    assert {"鶴 ends", "Ж ends", "é ends"} <= allowed_after("latin")  # nothing half written: no check
    # Four-byte characters: a Han character of the supplementary planes is left out, an emoji is not.
    far = Vocabulary([b"\xf0\xa0\x80", b"\x8b", b"\xf0\x9f\x98", b"\x80"])  # 𠀋 and 😀, each cut before its last byte
    for opened, last, left_out in ((0, 1, True), (2, 3, False)):
        masked = script_only(far, "latin")(np.array([opened], dtype=np.intc), np.zeros(4, dtype=np.float32))
        assert bool(np.isneginf(masked[last])) is left_out
    # Japanese: 鶴 is a Japanese kanji; a simplified form cut in bytes is not (东: e4 b8 9c).
    japanese = Vocabulary([b"\xe4\xb8", b"\x9c", b"\xe9\xb6", b"\xb4"])
    for opened, finish, left_out in ((0, 1, True), (2, 3, False)):
        scores = np.zeros(4, dtype=np.float32)
        masked = script_only(japanese, "japanese")(np.array([opened], dtype=np.intc), scores)
        assert np.isneginf(masked[finish]) is np.bool_(left_out)


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


def test_a_damaged_cache_is_built_again_not_an_unanswered_message(tmp_path: Path):
    """Found by a tester: a truncated cache (zipfile.BadZipFile) failed every later answer."""
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")
    banned_tokens(vocabulary(str(model)), "latin")
    (cache,) = tmp_path.glob("model.gguf.scripts-*.npz")
    for damage in (cache.read_bytes()[:200], b"", b"PK\x03\x04 not a zip at all"):
        cache.write_bytes(damage)
        again = vocabulary(str(model))
        assert len(banned_tokens(again, "latin")) == 9 and again.scans == 1
    assert len(banned_tokens(vocabulary(str(model)), "latin")) == 9  # and the rebuilt cache reads


def test_a_vocabulary_that_cannot_be_read_leaves_the_answer_unguarded():
    class Broken(Vocabulary):
        def detokenize(self, tokens: list[int]) -> bytes:
            raise RuntimeError("llama_token_to_piece failed")

    scores = np.arange(3, dtype=np.float32)
    masked = script_only(Broken([b"a", b"b", b"c"]), "latin")(np.array([0], dtype=np.intc), scores.copy())
    assert (masked == scores).all()


def test_a_cache_that_cannot_be_written_only_costs_the_rescan(tmp_path: Path):
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")
    where = cache_file(str(model))
    assert where is not None
    where.mkdir()  # the cache's place is taken (as an unwritable folder is, even for root)
    words = vocabulary(str(model))
    assert len(banned_tokens(words, "latin")) == 9 and words.scans == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.gguf", where.name], "no partial file left"


def test_masks_of_older_rules_are_read_afresh_and_removed(tmp_path: Path):
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")
    stat = model.stat()
    older = tmp_path / f"model.gguf.scripts-{stat.st_size}-{int(stat.st_mtime)}.npz"  # session 20's first form
    np.savez(older, latin=np.array([], dtype=np.int64), cyrillic=np.array([], dtype=np.int64))
    unrelated = tmp_path / "model.gguf.scripts-notes.npz"
    unrelated.write_bytes(b"someone's file")
    words = vocabulary(str(model))
    assert len(banned_tokens(words, "latin")) == 9 and words.scans == 1
    assert not older.exists() and unrelated.exists()
