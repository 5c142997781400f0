"""A local model answers in the member's writing system.

Measured on bench.offline_questions: the bundled Qwen answered "How many days are in a week?" with
"В неделю 7 дней." (the persona's Russian example nearby) and "Qual é a capital de Portugal?" with
"A capital de Portugal é里斯a." So when the member writes only Latin letters, tokens holding Cyrillic,
Han, kana or Hangul are left out of sampling ("latin"); when they write Cyrillic, tokens holding Han,
kana or Hangul ("cyrillic"); when they write Japanese, tokens holding a Han character Japanese does not
use ("japanese", see `japanese_script`). A message that writes other scripts itself or names a
language or script ("How do you say cat in Japanese?", "¿Cómo se dice gato en japonés?") is not
guarded by the first two: the answer needs those letters.

A rare character is often not one token but its UTF-8 bytes in two or three (鶴: e9 b6 b4). So tokens
that open such a character of a left-out script are left out too, and while a character is half
written, the tokens that would finish it as a left-out one are.

Which tokens hold what is read once per model file (every token detokenized: about a second for Qwen's
151,936) and kept beside it (`<model>.scripts-<size>-<mtime>.npz`, remade when the file changes or the
cache cannot be read), so a new console process does not pay that second again. A guard that cannot be
built leaves the answer unguarded (one warning), never unanswered.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import re
import tempfile
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from agent.models.japanese_script import HAN, foreign_han

log = logging.getLogger(__name__)

Guard = Literal["latin", "cyrillic", "japanese"]
GUARDS: tuple[Guard, ...] = ("latin", "cyrillic", "japanese")

_CYRILLIC = re.compile(r"[\u0400-\u052f]")
# Han (with its supplementary planes), kana (full and half width) and Hangul (with its compatibility and
# half-width jamo): the East Asian scripts.
_EAST_ASIAN = re.compile(
    "[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff"
    "\u1100-\u11ff\u3130-\u318f\uffa0-\uffdc\uac00-\ud7af]"
)
# Notes Observer writes for the model, in English (a bare ping's "(a mention with no text…)", an
# attachment's "[…]"): not the member's words, so they do not choose the guard.
_NOTES = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
# Asking about another language or script: the answer may need its letters. Names of languages and
# scripts (as adjectives, in the languages members write most); generic words such as "language" or
# "translate" are not enough ("programming language", "translate this function to Rust").
_ABOUT_LANGUAGES = re.compile(
    r"\bjapan(ese|isch|s)\b|\bjapon(ês|és|esa|ais|aise|ca)\b|\bgiappones|japońsk|\bchines|\bchinês|\bchino\b|"
    r"\bchinois|\bcinese|\bchinees|chińsk|\bçince|\bmandarin|\bcantones|\bcanton[eê]s|\bkorean|\bcorean|"
    r"\bcoréen|\bkoreaans|koreańsk|\bkorece|\brussian|\brusso|\bruso\b|\brusa\b|\brusse\b|\brussisch|rosyjsk|"
    r"\brusça|\bukrainian|\bucranian|\bbulgarian|\bgreek|\barabic|\bhebrew|\bhindi\b|\bthai\b|\bkanji|\bkana\b|"
    r"\bhiragana|\bkatakana|\bhangul|\bcyrillic|\bcir[íi]lic|\bkyrill|"
    r"японськ|японск|китайськ|китайск|корейськ|корейск|английск|англійськ|русск|російськ|украинск|"
    r"українськ|иероглиф|ієрогліф|кирил|латиниц",
    re.IGNORECASE,
)

_MASKS: weakref.WeakKeyDictionary[Any, dict[str, npt.NDArray[np.int64]]] = weakref.WeakKeyDictionary()
_PIECES: weakref.WeakKeyDictionary[Any, list[tuple[int, bytes]]] = weakref.WeakKeyDictionary()
_BUILDING = threading.Lock()


def guard_for(text: str) -> Guard | None:
    """Which of the "latin" and "cyrillic" guards the member's message asks for: "latin" (Latin letters
    only), "cyrillic" (Cyrillic, perhaps with Latin words), or None (no letters, an East Asian script, or
    about languages). Notes in parentheses or brackets are not read. Japanese is
    `japanese_script.wants_japanese_script`."""
    text = _NOTES.sub(" ", text)
    if _EAST_ASIAN.search(text) or _ABOUT_LANGUAGES.search(text):
        return None
    if _CYRILLIC.search(text):
        return "cyrillic"
    if _LATIN.search(text):
        return "latin"
    return None


def left_out(char: str, guard: Guard) -> bool:
    """`char` (one character) is a script `guard` leaves out."""
    if guard == "japanese":
        return bool(HAN.match(char)) and foreign_han(char)
    if _EAST_ASIAN.match(char):
        return True
    return guard == "latin" and bool(_CYRILLIC.match(char))


def _opens(lead: int, guard: Guard) -> bool:
    """A UTF-8 lead byte whose characters are mostly in a script `guard` leaves out (a cut-off character:
    0xE3 also opens CJK punctuation, 0xEA rare Latin and Cyrillic extensions, seldom written in bytes)."""
    if guard == "japanese":
        return False  # 0xE4-0xE9 open Japanese kanji too: only finishing one is checked
    if 0xE3 <= lead <= 0xE9 or 0xEA <= lead <= 0xED:  # kana, Han, Hangul (and their neighbours)
        return True
    return guard == "latin" and 0xD0 <= lead <= 0xD4  # Cyrillic


def _trailing_lead(raw: bytes) -> tuple[int, int] | None:
    """(lead byte, bytes of the character written so far) when `raw` ends inside a multi-byte character."""
    for back in range(1, min(4, len(raw)) + 1):
        byte = raw[-back]
        if byte < 0x80:
            return None
        if byte >= 0xC0:
            size = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return (byte, back) if size > back else None
    return None


def _scan(llama: Any) -> dict[str, npt.NDArray[np.int64]]:
    found: dict[str, list[int]] = {guard: [] for guard in GUARDS}
    continuing = []
    for token in range(int(llama.n_vocab())):
        raw = llama.detokenize([token])
        if raw and 0x80 <= raw[0] < 0xC0:
            continuing.append(token)  # finishes a character an earlier token opened
        text = raw.decode("utf-8", errors="ignore")
        cut = _trailing_lead(raw)
        for guard in GUARDS:
            if any(left_out(ch, guard) for ch in text) or (cut is not None and _opens(cut[0], guard)):
                found[guard].append(token)
    masks = {guard: np.array(ids, dtype=np.int64) for guard, ids in found.items()}
    masks["continuing"] = np.array(continuing, dtype=np.int64)
    return masks


# Part of the cache's name: raised whenever what a mask holds changes (script ranges, byte rules).
RULES = 2


def cache_file(model_path: str) -> Path | None:
    """Where the masks of the model file at `model_path` are kept: named by the rules, the file's size
    and modification time (ns), so a changed file or changed rules are read afresh."""
    try:
        stat = os.stat(model_path)
    except OSError:
        return None
    return Path(f"{model_path}.scripts-v{RULES}-{stat.st_size}-{stat.st_mtime_ns}.npz")


def _read(cache: Path) -> dict[str, npt.NDArray[np.int64]] | None:
    try:
        with np.load(cache) as saved:
            return {key: np.asarray(saved[key], dtype=np.int64) for key in (*GUARDS, "continuing")}
    except Exception as exc:  # a damaged or older cache, whatever numpy or zipfile says: build it again
        log.info("script masks beside the model not read (%s); building them again", type(exc).__name__)
        return None


def _write(cache: Path, masks: dict[str, npt.NDArray[np.int64]], model: str) -> None:
    partial: str | None = None
    try:
        # A name of its own: two processes building at once each write theirs, and the last one wins.
        handle, partial = tempfile.mkstemp(dir=cache.parent, prefix=f".{cache.name}.", suffix=".npz")
        with os.fdopen(handle, "wb") as out:
            np.savez(out, **masks)  # type: ignore[arg-type]
        os.replace(partial, cache)
        earlier = re.compile(re.escape(Path(model).name) + r"\.scripts-(v\d+-)?\d+-\d+\.npz")
        for stale in cache.parent.glob(f"{glob.escape(Path(model).name)}.scripts-*.npz"):
            if stale != cache and earlier.fullmatch(stale.name):
                stale.unlink(missing_ok=True)  # an earlier file at this path, or older rules
    except OSError as exc:
        log.info("script masks not cached beside the model (%s)", type(exc).__name__)
        if partial is not None:
            with contextlib.suppress(OSError):
                os.unlink(partial)


def _masks(llama: Any) -> dict[str, npt.NDArray[np.int64]]:
    with _BUILDING:
        masks = _MASKS.get(llama)
        if masks is None:
            path = getattr(llama, "model_path", None)
            cache = cache_file(str(path)) if path else None
            if cache is not None and cache.is_file():
                masks = _read(cache)
            if masks is None:
                masks = _scan(llama)
                if cache is not None:
                    _write(cache, masks, str(llama.model_path))
            _MASKS[llama] = masks
        return masks


def banned_tokens(llama: Any, guard: Guard) -> npt.NDArray[np.int64]:
    """Ids of the tokens `guard` leaves out, sorted: read from the cache beside the model file, or
    built from the vocabulary (and cached there; a folder that cannot be written only costs the rebuild)."""
    return _masks(llama)[guard]


def _continuing_pieces(llama: Any) -> list[tuple[int, bytes]]:
    pieces = _PIECES.get(llama)
    if pieces is None:
        pieces = _PIECES[llama] = [(int(t), llama.detokenize([int(t)])) for t in _masks(llama)["continuing"]]
    return pieces


def _finishing(llama: Any, tail: bytes, guard: Guard) -> list[int]:
    """Tokens that would finish the character `tail` (its opening bytes) as one `guard` leaves out."""
    banned = []
    for token, raw in _continuing_pieces(llama):
        char = (tail + raw).decode("utf-8", errors="ignore")[:1]
        if char and left_out(char, guard):
            banned.append(token)
    return banned


def script_only(llama: Any, guard: Guard) -> Callable[[Any, Any], Any]:
    """A llama.cpp logits processor that leaves `guard`'s foreign scripts out of the next token. A guard
    that cannot be built (an unreadable vocabulary) is logged and leaves the answer unguarded."""
    try:
        banned = banned_tokens(llama, guard)
    except Exception as exc:
        log.warning("script guard %s not built (%s); answering without it", guard, type(exc).__name__)
        return lambda input_ids, scores: scores
    failed: list[Exception] = []  # warned once per answer

    def mask(input_ids: Any, scores: Any) -> Any:
        # The whole vocabulary in id order (llama-cpp-python runs this sampler first, before any cut).
        if len(banned) and len(scores) > int(banned[-1]):
            scores[banned] = -np.inf
        try:
            if len(input_ids):
                recent = llama.detokenize([int(t) for t in input_ids[-3:]])
                cut = _trailing_lead(recent)
                if cut is not None:  # a character is half written: it may not be finished as a left-out one
                    finishing = [t for t in _finishing(llama, recent[-cut[1] :], guard) if t < len(scores)]
                    if finishing:
                        scores[finishing] = -np.inf
        except Exception as exc:  # inside llama.cpp's sampling callback: this token goes unguarded
            if not failed:
                failed.append(exc)
                log.warning("script guard %s: a split character not checked (%s)", guard, type(exc).__name__)
        return scores

    return mask
