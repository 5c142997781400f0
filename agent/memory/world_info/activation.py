"""Which World Info entries a conversation turns on, following SillyTavern's documented semantics.

- A key is plain text or a regular expression written `/pattern/flags`.
- Plain keys are case-insensitive and whole-word unless the entry says otherwise. Text in scripts
  written without spaces (Chinese, Japanese, Thai...) has no word boundaries, so a key in such a
  script matches anywhere, as SillyTavern's own whole-word test effectively does for non-Latin text.
- A primary key must match; then, for a selective entry with secondary keys, `selectiveLogic`:
  AND ANY (one secondary matches), NOT ALL (not every one does), NOT ANY (none does), AND ALL (all do).
- Constant entries are always on. Each entry scans its own `scanDepth` of recent messages, else the
  global depth.
- Recursion: the text of the entries turned on is scanned again (bounded number of steps); an entry
  with `excludeRecursion` is never turned on that way, one with `preventRecursion` never turns on others.
- The result is ordered by `order`, highest first (SillyTavern's priority when the budget runs out).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Generic, TypeVar

from agent.memory.world_info.rules import Logic, Rule

T = TypeVar("T")

_REGEX_KEY = re.compile(r"^/(.+)/([a-z]*)$", re.DOTALL)
_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "u": 0, "g": 0, "y": 0, "d": 0, "v": 0}


@dataclass(frozen=True)
class Candidate(Generic[T]):
    """An entry to test: its rule, the text its activation contributes to recursion, and its payload."""

    rule: Rule
    text: str
    item: T


def _spaceless(text: str) -> bool:
    """Whether a key is in a script written without spaces between words."""
    for ch in text:
        if ord(ch) < 0x2E80:
            if "\u0e00" <= ch <= "\u0eff" or "\u1000" <= ch <= "\u109f" or "\u1780" <= ch <= "\u17ff":
                return True  # Thai, Lao, Myanmar, Khmer
            continue
        if unicodedata.category(ch).startswith("L"):
            return True  # CJK, kana, hangul and later scripts
    return False


@lru_cache(maxsize=4096)
def key_pattern(key: str, case_sensitive: bool, whole_words: bool) -> re.Pattern[str] | None:
    """The compiled test for one key; None for an empty key or a regular expression that does not compile."""
    stripped = key.strip()
    if not stripped:
        return None
    regex = _REGEX_KEY.match(stripped)
    if regex is not None:
        flags = 0
        for flag in regex.group(2):
            if flag not in _FLAGS:
                return None
            flags |= _FLAGS[flag]
        try:
            return re.compile(regex.group(1), flags)
        except (re.error, RecursionError, OverflowError):
            return None
    flags = 0 if case_sensitive else re.IGNORECASE
    escaped = re.escape(stripped)
    # Like SillyTavern: a key of several words is matched as a phrase, one word on word boundaries.
    if whole_words and not _spaceless(stripped) and len(stripped.split()) == 1:
        return re.compile(rf"(?<!\w){escaped}(?!\w)", flags)
    return re.compile(escaped, flags)


@dataclass(frozen=True)
class Scan:
    """Global settings of one activation."""

    depth: int = 4
    recursion_steps: int = 3
    case_sensitive: bool = False
    whole_words: bool = True


def _matches(key: str, rule: Rule, haystack: str, scan: Scan) -> bool:
    pattern = key_pattern(
        key,
        scan.case_sensitive if rule.case_sensitive is None else rule.case_sensitive,
        scan.whole_words if rule.whole_words is None else rule.whole_words,
    )
    return pattern is not None and pattern.search(haystack) is not None


def fires(rule: Rule, haystack: str, scan: Scan) -> bool:
    """Whether a keyed (not constant) entry is turned on by this text."""
    if not any(_matches(k, rule, haystack, scan) for k in rule.keys):
        return False
    secondary = [k for k in rule.secondary if k.strip()]
    if not rule.selective or not secondary:
        return True
    hits = [_matches(k, rule, haystack, scan) for k in secondary]
    if rule.logic == Logic.AND_ANY:
        return any(hits)
    if rule.logic == Logic.NOT_ALL:
        return not all(hits)
    if rule.logic == Logic.NOT_ANY:
        return not any(hits)
    return all(hits)  # AND ALL


def activate(candidates: Sequence[Candidate[T]], messages: Sequence[str], scan: Scan) -> list[Candidate[T]]:
    """The candidates the messages (oldest first, the newest last) turn on, highest `order` first."""
    on: dict[int, Candidate[T]] = {}
    buffers: dict[int, str] = {}

    def buffer(depth: int | None) -> str:
        d = max(0, scan.depth if depth is None else depth)
        if d not in buffers:
            buffers[d] = "\n".join(messages[-d:]) if d else ""
        return buffers[d]

    for i, c in enumerate(candidates):
        if c.rule.constant or (c.rule.keys and fires(c.rule, buffer(c.rule.scan_depth), scan)):
            on[i] = c
    recursed: list[str] = []
    fresh = list(on)
    for _ in range(scan.recursion_steps):
        recursed.extend(on[i].text for i in fresh if not on[i].rule.prevent_recursion)
        if not fresh or not recursed:
            break
        extra = "\n".join(recursed)
        fresh = [
            i
            for i, c in enumerate(candidates)
            if i not in on
            and not c.rule.exclude_recursion
            and c.rule.keys
            and fires(c.rule, buffer(c.rule.scan_depth) + "\n" + extra, scan)
        ]
        on.update((i, candidates[i]) for i in fresh)
    return [on[i] for i in sorted(on, key=lambda i: (-on[i].rule.order, i))]
