"""Which World Info entries a conversation turns on, following SillyTavern's documented semantics.

- A key is plain text or a regular expression written `/pattern/flags`.
- Plain keys are case-insensitive and match anywhere in the text (SillyTavern's global default,
  `world_info_match_whole_words = false`) unless the entry says `matchWholeWords: true`. Text in
  scripts written without spaces (Chinese, Japanese, Thai...) has no word boundaries, so a whole-word
  key in such a script matches anywhere, as SillyTavern's own whole-word test effectively does.
- Every key is matched with the `regex` package under a time limit: a lorebook's regular expression
  that backtracks catastrophically (`/(a|aa)+$/`) counts as not matching for that message (logged
  once) instead of holding a reply, and a thread, forever.
- A primary key must match; then, for a selective entry with secondary keys, `selectiveLogic`:
  AND ANY (one secondary matches), NOT ALL (not every one does), NOT ANY (none does), AND ALL (all do).
- Constant entries are always on. Each entry scans its own `scanDepth` of recent messages, else the
  global depth.
- Recursion: the text of the entries turned on is scanned again (bounded number of steps); an entry
  with `excludeRecursion` is never turned on that way, one with `preventRecursion` never turns on others.
- The result is ordered by `order`, highest first (SillyTavern's priority when the budget runs out).
"""

from __future__ import annotations

import logging
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Generic, TypeVar

import regex

from agent.memory.world_info.rules import Logic, Rule

T = TypeVar("T")
log = logging.getLogger(__name__)

_REGEX_KEY = regex.compile(r"^/(.+)/([a-z]*)$", regex.DOTALL)
_FLAGS = {"i": regex.IGNORECASE, "m": regex.MULTILINE, "s": regex.DOTALL, "u": 0, "g": 0, "y": 0, "d": 0, "v": 0}
# Keys already reported as timing out (each is logged once per process, never the message).
_WARNED: set[str] = set()


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


def key_problem(key: str) -> str | None:
    """Why a `/pattern/flags` key can never match (an unknown flag, a pattern that does not compile);
    None for a plain key or a usable regular expression."""
    found = _REGEX_KEY.match(key.strip())
    if found is None:
        return None
    unknown = sorted(set(found.group(2)) - set(_FLAGS))
    if unknown:
        return f"unknown flag {''.join(unknown)!r}"
    try:
        regex.compile(found.group(1))
    except (regex.error, RecursionError, OverflowError) as exc:
        return f"does not compile ({exc})"
    return None


@lru_cache(maxsize=4096)
def key_pattern(key: str, case_sensitive: bool, whole_words: bool) -> regex.Pattern[str] | None:
    """The compiled test for one key; None for an empty key or a regular expression that does not compile."""
    stripped = key.strip()
    if not stripped:
        return None
    found = _REGEX_KEY.match(stripped)
    if found is not None:
        flags = 0
        for flag in found.group(2):
            if flag not in _FLAGS:
                return None
            flags |= _FLAGS[flag]
        try:
            return regex.compile(found.group(1), flags)
        except (regex.error, RecursionError, OverflowError):
            return None
    flags = 0 if case_sensitive else regex.IGNORECASE
    escaped = regex.escape(stripped)
    # Like SillyTavern: a key of several words is matched as a phrase, one word on word boundaries.
    if whole_words and not _spaceless(stripped) and len(stripped.split()) == 1:
        return regex.compile(rf"(?<!\w){escaped}(?!\w)", flags)
    return regex.compile(escaped, flags)


@dataclass(frozen=True)
class Scan:
    """Global settings of one activation."""

    depth: int = 4
    recursion_steps: int = 3
    case_sensitive: bool = False
    whole_words: bool = False  # SillyTavern's global default: a key matches inside longer words
    # Seconds one key may take on one text, and all the keys of one activation together.
    key_timeout: float = 0.05
    total_timeout: float = 1.0


@dataclass
class _Clock:
    """One activation's time for matching: keys that timed out count as not matching from then on,
    and once the whole budget is spent, every further key does."""

    scan: Scan
    deadline: float = 0.0
    timed_out: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.deadline = time.monotonic() + self.scan.total_timeout

    def search(self, key: str, pattern: regex.Pattern[str], haystack: str) -> bool:
        if key in self.timed_out:
            return False
        left = self.deadline - time.monotonic()
        if left <= 0:
            self._timed_out(key, "the time for all keys of this message is spent")
            return False
        try:
            return pattern.search(haystack, timeout=min(self.scan.key_timeout, left)) is not None
        except TimeoutError:
            self._timed_out(key, f"it took over {self.scan.key_timeout:g}s")
            return False

    def _timed_out(self, key: str, why: str) -> None:
        self.timed_out.add(key)
        if key not in _WARNED and len(_WARNED) < 10_000:
            _WARNED.add(key)
            log.warning(
                "World Info key %r counts as not matching: %s (a regular expression that backtracks?)", key, why
            )


def _matches(key: str, rule: Rule, haystack: str, clock: _Clock) -> bool:
    scan = clock.scan
    pattern = key_pattern(
        key,
        scan.case_sensitive if rule.case_sensitive is None else rule.case_sensitive,
        scan.whole_words if rule.whole_words is None else rule.whole_words,
    )
    return pattern is not None and clock.search(key, pattern, haystack)


def fires(rule: Rule, haystack: str, scan: Scan, clock: _Clock | None = None) -> bool:
    """Whether a keyed (not constant) entry is turned on by this text."""
    clock = clock or _Clock(scan)
    if not any(_matches(k, rule, haystack, clock) for k in rule.keys):
        return False
    secondary = [k for k in rule.secondary if k.strip()]
    if not rule.selective or not secondary:
        return True
    hits = [_matches(k, rule, haystack, clock) for k in secondary]
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
    clock = _Clock(scan)

    def buffer(depth: int | None) -> str:
        d = max(0, scan.depth if depth is None else depth)
        if d not in buffers:
            buffers[d] = "\n".join(messages[-d:]) if d else ""
        return buffers[d]

    for i, c in enumerate(candidates):
        if c.rule.constant or (c.rule.keys and fires(c.rule, buffer(c.rule.scan_depth), scan, clock)):
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
            and fires(c.rule, buffer(c.rule.scan_depth) + "\n" + extra, scan, clock)
        ]
        on.update((i, candidates[i]) for i in fresh)
    return [on[i] for i in sorted(on, key=lambda i: (-on[i].rule.order, i))]
