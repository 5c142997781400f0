"""Split an answer into Discord messages of at most 2,000 characters.

Cuts at a paragraph, then a line, then a sentence end (CJK 。！？ included), then a space; never
inside a grapheme cluster, a mention, custom emoji, timestamp, masked link, URL or short inline code
(discord_adapter/markdown_balance.py). A code block cut in two is closed at the end of one message
and reopened, with its language, at the start of the next; so are spoilers, bold, italics, underline,
strikethrough and long inline code, and a `>>>` block quote (or a `>` line cut mid-line) is reopened.
"""

from __future__ import annotations

import re

from discord_adapter.markdown_balance import has_content, open_at, quote_at, safe_cut, settle_cut

DISCORD_LIMIT = 2000
# In a block quote too. Discord has no `~~~` fences: there `~~` is strikethrough.
_FENCE = re.compile(r"^\s*(?:>{1,3} )?\s*(```+)(.*)$")
_SENTENCE_END = re.compile(r"(?:[.!?…](?=\s)|[。！？!?…])\s*")
_CLOSE = "\n```"


def _best_cut(text: str, budget: int) -> int:
    window = text[:budget]
    for pattern, floor in (("\n\n", 0.5), ("\n", 0.3)):
        at = window.rfind(pattern)
        if at >= budget * floor:
            return at + len(pattern)
    ends = [m.end() for m in _SENTENCE_END.finditer(window)]
    if ends and ends[-1] >= budget * 0.3:
        return ends[-1]
    space = max(window.rfind(" "), window.rfind("\u3000"))
    if space >= budget * 0.3:
        return space + 1
    return safe_cut(text, budget, budget)


def _fence_after(text: str, open_fence: str | None) -> str | None:
    """The fence line still open after `text`, given the one open before it."""
    for line in text.split("\n"):
        match = _FENCE.match(line)
        if match:
            open_fence = None if open_fence is not None else line.strip()
    return open_fence


# Room kept at the end of a part for the closers of open inline markers.
_RESERVE = 24


def split_parts(text: str, limit: int = DISCORD_LIMIT) -> list[tuple[str, str, str]]:
    """(added prefix, body, added suffix) for each part; the bodies joined are exactly `text`, and a
    part as sent is prefix + body without the whitespace at the cut + suffix."""
    parts: list[tuple[str, str, str]] = []
    open_fence: str | None = None
    reopen = ""
    pos = 0
    while pos < len(text):
        rest = text[pos:]
        prefix = (f"{open_fence}\n" if open_fence else "") + reopen
        budget = limit - len(prefix)
        # The last part, measured as it will be sent (leading spaces of a line are kept).
        if len(_render(prefix, rest, "", bool(open_fence))) <= limit and _fence_after(rest, open_fence) is None:
            parts.append((prefix, rest, ""))
            break
        cut = _best_cut(rest, budget - len(_CLOSE) - _RESERVE)
        cut = safe_cut(rest, cut, budget - len(_CLOSE) - _RESERVE // 2)
        settled = settle_cut(text, pos + cut, pos) - pos
        if 0 < settled <= budget - len(_CLOSE) - _RESERVE // 2 and has_content(rest[:settled]):
            cut = settled
        piece = rest[:cut]
        still_open = _fence_after(piece, open_fence)
        marks = [] if still_open else open_at(text, pos + cut)
        suffix = _CLOSE if still_open else "".join(reversed(marks))
        parts.append((prefix, piece, suffix))
        open_fence = still_open
        reopen = (quote_at(text, pos + cut) if not still_open else "") + "".join(marks)
        pos += cut
    return parts or [("", "", "")]


def _render(prefix: str, body: str, suffix: str, fence_open_before: bool) -> str:
    if not fence_open_before:
        body = body.lstrip("\n")
    body = body.rstrip("\n") if suffix == _CLOSE else body.rstrip()
    return prefix + body + suffix


def split_message(text: str, limit: int = DISCORD_LIMIT) -> list[str]:
    chunks: list[str] = []
    for prefix, body, suffix in split_parts(text, limit):
        part = _render(prefix, body, suffix, prefix.startswith("```"))
        if part.strip() and part.strip() != prefix.strip():
            chunks.append(part)
    return chunks or [""]
