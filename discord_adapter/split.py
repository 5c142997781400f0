"""Split an answer into Discord messages of at most 2,000 characters.

Cuts at a paragraph, then a line, then a sentence end (CJK 。！？ included), then a space; never
inside a character cluster (combining marks, emoji sequences). A code block cut in two is closed
at the end of one message and reopened, with its language, at the start of the next.
"""

from __future__ import annotations

import re
import unicodedata

DISCORD_LIMIT = 2000
_FENCE = re.compile(r"^\s*(```+|~~~+)(.*)$")
_SENTENCE_END = re.compile(r"(?:[.!?…](?=\s)|[。！？!?…])\s*")
_CLOSE = "\n```"


def _continues_cluster(ch: str) -> bool:
    """True for characters that belong to the cluster before them."""
    cp = ord(ch)
    return (
        unicodedata.combining(ch) != 0
        or ch in "\u200d\ufe0e\ufe0f\u20e3"
        or 0x1F3FB <= cp <= 0x1F3FF  # skin tones
        or 0xE0020 <= cp <= 0xE007F  # tag sequences (flags)
        or unicodedata.category(ch) == "Mc"
    )


def safe_cut(text: str, cut: int) -> int:
    """Move a cut left until it falls between two character clusters."""
    while 0 < cut < len(text) and (_continues_cluster(text[cut]) or text[cut - 1] == "\u200d"):
        cut -= 1
    return cut if cut > 0 else min(len(text), max(1, cut))


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
    return safe_cut(text, budget)


def _fence_after(text: str, open_fence: str | None) -> str | None:
    """The fence line still open after `text`, given the one open before it."""
    for line in text.split("\n"):
        match = _FENCE.match(line)
        if match:
            open_fence = None if open_fence is not None else line.strip()
    return open_fence


def split_message(text: str, limit: int = DISCORD_LIMIT) -> list[str]:
    chunks: list[str] = []
    open_fence: str | None = None
    rest = text
    while rest:
        prefix = f"{open_fence}\n" if open_fence else ""
        budget = limit - len(prefix)
        if len(rest) <= budget and _fence_after(rest, open_fence) is None:
            chunks.append(prefix + rest)
            break
        cut = _best_cut(rest, budget - len(_CLOSE))
        piece = rest[:cut]
        still_open = _fence_after(piece, open_fence)
        body = piece.rstrip("\n") if still_open else piece.rstrip()
        if still_open:
            body += _CLOSE
        if body.strip() and body.strip() != prefix.strip():
            chunks.append(prefix + body)
        open_fence = still_open
        rest = rest[cut:]
        if not open_fence:
            rest = rest.lstrip("\n")
    return chunks or [""]
