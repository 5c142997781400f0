"""Where a Discord message may be cut, and what must be closed and reopened around a cut.

- Never inside a grapheme cluster (flags, ZWJ emoji, skin tones, combining marks, Hangul jamo):
  the `regex` package's `\\X` finds the clusters (Unicode's rules, not our own tables).
- Never inside an atom: a mention `<@1>` `<@&1>` `<#1>`, a custom emoji `<:n:1>` `<a:n:1>`, a
  timestamp `<t:1:R>`, a masked link `[text](url)`, a URL, a short inline code span.
- Inline pairs (`||` spoiler, `**` bold, `__` underline, `~~` strike, `*`/`_` italics, long inline
  code) open across the cut are closed at the end of one part and reopened at the start of the next.
  Markers are paired over the whole text first, so a lone `*` (5 * 3) is never "closed".
"""

from __future__ import annotations

import functools
import re

import regex

_GRAPHEME = regex.compile(r"\X", regex.DOTALL)
_FENCE_BLOCK = re.compile(
    r"^[ \t]*(?:>{1,3} )?[ \t]*(```+).*?(?:^[ \t]*(?:>{1,3} )?[ \t]*\1[ \t]*$|\Z)", re.MULTILINE | re.DOTALL
)
_ATOM = re.compile(
    r"<(?:@[!&]?\d+|#\d+|a?:\w+:\d+|t:-?\d+(?::[tTdDfFR])?|/[\w -]+:\d+)>"
    r"|\[[^\]\n]*\]\(<?https?://[^)\s]*>?\)"
    r"|<?https?://[^\s<>]+>?"
)
MAX_ATOM = 300
# Longest first, so `**` is not read as two `*`.
_MARKER = re.compile(r"`+|\|\||\*\*|__|~~|\*|_")


def grapheme_cut(text: str, cut: int) -> int:
    """The last cluster boundary at or before `cut` (at least one cluster, if any)."""
    if cut >= len(text):
        return len(text)
    # Start well before the cut (a cluster is rarely longer than a few code points; zalgo text is).
    at = start = max(0, cut - 256)
    for match in _GRAPHEME.finditer(text, start, min(len(text), cut + 16)):
        if match.end() > cut:
            break
        at = match.end()
    if at == start and text:
        if start:
            return start
        first = _GRAPHEME.match(text)
        return first.end() if first else 1
    return at


def _protected(text: str) -> list[tuple[int, int]]:
    """Spans a cut must not fall inside (fenced code is handled by the fence logic, not here)."""
    spans = [m.span() for m in _ATOM.finditer(text) if m.end() - m.start() <= MAX_ATOM]
    for start, end, ticks in _code_spans(text):
        if end - start <= MAX_ATOM and ticks:
            spans.append((start, end))
    return spans


def _fenced(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _FENCE_BLOCK.finditer(text)]


def _code_spans(text: str) -> list[tuple[int, int, str]]:
    """Inline code spans outside fenced blocks: (start, end, backticks)."""
    # Fenced blocks are blanked out first (same length), so their backticks never pair with a span's.
    masked = text
    for a, b in _fenced(text):
        masked = masked[:a] + " " * (b - a) + masked[b:]
    return [(m.start(), m.end(), m.group(1)) for m in re.finditer(r"(`+)(?!`)(.+?)(?<!`)\1(?!`)", masked, re.DOTALL)]


_MARKS = "*_~|` \t\n>"


def safe_cut(text: str, cut: int, budget: int) -> int:
    """Move a cut left out of any atom or short code span (or past it, when nothing but markers
    comes before it and it fits the budget), then onto a cluster boundary."""
    lead = len(text) - len(text.lstrip(_MARKS))
    for start, end in sorted(_protected(text)):
        if start < cut < end:
            if start > lead:
                cut = start
            elif end <= budget:
                cut = end
    return grapheme_cut(text, cut)


def has_content(piece: str) -> bool:
    """More than markers and whitespace."""
    return bool(piece.strip(_MARKS))


@functools.lru_cache(maxsize=8)  # one split asks for the same text's pairs at every cut
def _pairs(text: str) -> list[tuple[int, int, str]]:
    """(open, close, marker) of every paired inline marker outside code."""
    fenced = _fenced(text)
    code = _code_spans(text)
    skip = [(a, b) for a, b in fenced] + [(a, b) for a, b, _ in code]
    positions: dict[str, list[int]] = {}
    for match in _MARKER.finditer(text):
        at, mark = match.start(), match.group(0)
        if mark.startswith("`") or any(a <= at < b for a, b in skip):
            continue
        before = text[at - 1] if at else " "
        after = text[match.end()] if match.end() < len(text) else " "
        if len(mark) == 1 and before.isalnum() and after.isalnum():
            continue  # snake_case, 2*3: not emphasis
        if mark == "*" and after in " \t" and (at == 0 or text[at - 1] == "\n"):
            continue  # a list bullet
        positions.setdefault(mark, []).append(at)
    pairs = [(a, b, mark) for mark, p in positions.items() for a, b in zip(p[::2], p[1::2], strict=False)]
    # Every code span pairs, short ones too: a cut is kept out of a short one, but if one still lands
    # inside it (its budget too small to move), the span is closed and reopened like the others.
    pairs += [(a, b - len(ticks), ticks) for a, b, ticks in code]  # (opener, closer) like the others
    return sorted(pairs)


def settle_cut(text: str, cut: int, floor: int) -> int:
    """A cut not right after an opener nor right before a closer (which would leave an empty
    `****` or `||||` pair in a part): moved before that opener or past that closer."""
    for _ in range(8):
        moved = cut
        for start, end, mark in _pairs(text):
            if floor < start < cut and not text[start + len(mark) : cut].strip():
                moved = min(moved, start)
            elif start < cut <= end and not text[cut:end].strip() and moved == cut:
                moved = end + len(mark)
        if moved == cut:
            return cut
        cut = moved
    return cut


def open_at(text: str, cut: int) -> list[str]:
    """The inline markers open at `cut` (opened before it, closed after it), outermost first."""
    return [mark for start, end, mark in _pairs(text) if start < cut <= end]


def quote_at(text: str, cut: int) -> str:
    """The block-quote prefix the next part needs: `>>> ` (quotes to the end), `> ` (cut mid-line in a
    quoted line), or nothing."""
    fenced = _fenced(text)
    before = text[:cut]
    for match in re.finditer(r"^>>> ", before, re.MULTILINE):
        if not any(a < match.start() < b for a, b in fenced):  # `>>> ` opening a fence line counts
            return ">>> "
    line_start = before.rfind("\n") + 1
    if cut < len(text) and text[cut - 1 : cut] != "\n" and text.startswith("> ", line_start):
        return "> "
    return ""
