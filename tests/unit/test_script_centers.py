"""The per-script centers are measured once (54 embeddings, seconds on 2 cores) and kept beside the
models: the next start reads them, and a damaged file is measured again."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from agent.memory.script_centering import ScriptCentering


class Counting:
    def __init__(self) -> None:
        self.calls = 0

    def query(self, text: str) -> list[float]:
        self.calls += 1
        return [float(len(text)), float(ord(text[0])), 1.0]

    def passages(self, texts: list[str]) -> list[list[float]]:
        self.calls += len(texts)
        return [[float(len(t)), 2.0, float(ord(t[-1]))] for t in texts]


def centered(centering: ScriptCentering) -> list[list[float]]:
    texts = ["hello there", "日本の首都", "привет"]
    return centering.apply(np.ones((3, 3)), texts, 0) + centering.apply(np.ones((3, 3)), texts, 1)


def test_the_centers_are_measured_once_and_read_back_the_same(tmp_path: Path) -> None:
    first = Counting()
    measured = ScriptCentering.cached(tmp_path, "e5/v1", first.query, first.passages)
    assert first.calls > 0
    again = Counting()
    read = ScriptCentering.cached(tmp_path, "e5/v1", again.query, again.passages)
    assert again.calls == 0, "the second start embedded the reference sentences again"
    assert np.allclose(centered(read), centered(measured))
    other = Counting()
    ScriptCentering.cached(tmp_path, "e5/v2", other.query, other.passages)
    assert other.calls > 0, "another model's centers were taken for this one's"


def test_a_damaged_centers_file_is_measured_again(tmp_path: Path) -> None:
    ScriptCentering.cached(tmp_path, "e5/v1", Counting().query, Counting().passages)
    [kept] = list(tmp_path.glob("*.npz"))
    kept.write_bytes(b"not an npz")
    fresh = Counting()
    centering = ScriptCentering.cached(tmp_path, "e5/v1", fresh.query, fresh.passages)
    assert fresh.calls > 0 and len(centered(centering)) == 6
    unwritable = tmp_path / "file-in-the-way"
    unwritable.write_text("")
    ScriptCentering.cached(unwritable / "sub", "e5/v1", Counting().query, Counting().passages)  # no error
