"""A local model answers in the member's writing system.

Measured on bench.offline_questions: the bundled Qwen answered "How many days are in a week?" with
"В неделю 7 дней." (the persona's Russian example nearby) and "Qual é a capital de Portugal?" with
"A capital de Portugal é里斯a." So when the member writes only Latin letters, tokens holding Cyrillic,
Han, kana or Hangul are left out of sampling; when they write Cyrillic, tokens holding Han, kana or
Hangul. Japanese has its own guard (`japanese_script`). A message that writes other scripts itself or
names a language or script is not guarded: "How do you say cat in Japanese?" needs kana.

Which tokens hold what is read once per model file (every token detokenized: about a second for Qwen's
151,936) and kept beside it (`<model>.scripts.npz`, remade when the file changes), so a new console
process does not pay that second again.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import re
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

Guard = Literal["latin", "cyrillic"]

_CYRILLIC = re.compile(r"[\u0400-\u04ff\u0500-\u052f]")
# Han, kana (full and half width) and Hangul: the East Asian scripts.
_EAST_ASIAN = re.compile(
    r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u1100-\u11ff\uac00-\ud7af]"
)
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
# Asking about another language or script: the answer may need its letters.
_ABOUT_LANGUAGES = re.compile(
    r"japan[eê]s|japonês|japonesa|chines|chinês|korean|coreano|russian|russo|ukrain|ucranian|english|"
    r"ingl[eê]s|language|idioma|l[íi]ngua|translat|tradu|kanji|kana\b|hiragana|katakana|hangul|cyrillic|"
    r"cir[íi]lico|alphabet|alfabeto|"
    r"язык|перев|японск|китайск|корейск|английск|по-английски|иероглиф|кирилл|алфавит|латиниц",
    re.IGNORECASE,
)

_MASKS: weakref.WeakKeyDictionary[Any, dict[Guard, npt.NDArray[np.int64]]] = weakref.WeakKeyDictionary()
_BUILDING = threading.Lock()


def guard_for(text: str) -> Guard | None:
    """Which guard the member's message asks for: "latin" (Latin letters only), "cyrillic" (Cyrillic,
    perhaps with Latin words), or None (no letters, an East Asian script, or about languages)."""
    if _EAST_ASIAN.search(text) or _ABOUT_LANGUAGES.search(text):
        return None
    if _CYRILLIC.search(text):
        return "cyrillic"
    if _LATIN.search(text):
        return "latin"
    return None


def _scan(llama: Any) -> dict[Guard, npt.NDArray[np.int64]]:
    cyrillic, east_asian = [], []
    for token in range(int(llama.n_vocab())):
        # Stray bytes of a split character dropped: whole characters beside them still count.
        text = llama.detokenize([token]).decode("utf-8", errors="ignore")
        if _EAST_ASIAN.search(text):
            east_asian.append(token)
        elif _CYRILLIC.search(text):
            cyrillic.append(token)
    asian = np.array(east_asian, dtype=np.int64)
    return {"cyrillic": asian, "latin": np.union1d(asian, np.array(cyrillic, dtype=np.int64))}


def _cache_file(llama: Any) -> Path | None:
    path = getattr(llama, "model_path", None)
    if not path:
        return None
    with contextlib.suppress(OSError):
        stat = os.stat(path)
        return Path(f"{path}.scripts-{stat.st_size}-{int(stat.st_mtime)}.npz")
    return None


def banned_tokens(llama: Any, guard: Guard) -> npt.NDArray[np.int64]:
    """Ids of the tokens `guard` leaves out, sorted: read from the cache beside the model file, or
    built from the vocabulary (and cached there; a read-only folder only costs the rebuild)."""
    with _BUILDING:
        masks = _MASKS.get(llama)
        if masks is None:
            cache = _cache_file(llama)
            if cache is not None and cache.is_file():
                with contextlib.suppress(OSError, ValueError, KeyError), np.load(cache) as saved:
                    masks = {"latin": saved["latin"], "cyrillic": saved["cyrillic"]}
            if masks is None:
                masks = _scan(llama)
                if cache is not None:
                    try:
                        partial = cache.with_name(cache.name + ".partial.npz")
                        np.savez(partial, latin=masks["latin"], cyrillic=masks["cyrillic"])
                        os.replace(partial, cache)
                        for stale in cache.parent.glob(f"{glob.escape(Path(llama.model_path).name)}.scripts-*.npz"):
                            if stale != cache:
                                stale.unlink(missing_ok=True)  # an earlier file at this path
                    except OSError as exc:
                        log.info("script masks not cached beside the model (%s)", type(exc).__name__)
            _MASKS[llama] = masks
        return masks[guard]


def script_only(llama: Any, guard: Guard) -> Callable[[Any, Any], Any]:
    """A llama.cpp logits processor that leaves `guard`'s foreign scripts out of the next token."""
    banned = banned_tokens(llama, guard)

    def mask(input_ids: Any, scores: Any) -> Any:
        # The whole vocabulary in id order (llama-cpp-python runs this sampler first, before any cut).
        if len(banned) and len(scores) > int(banned[-1]):
            scores[banned] = -np.inf
        return scores

    return mask
