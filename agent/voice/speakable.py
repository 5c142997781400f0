"""What a voice should read of a Markdown answer, and whether anything in it makes a sound."""

from __future__ import annotations

import re
import unicodedata

# Pictographs, dingbats, music signs, emoji modifiers and the joiners and selectors between them:
# Piper reads them as noise (or, for a whole answer of them, as nothing at all).
_SILENT_CATEGORIES = {"So", "Sk", "Cf", "Me", "Co", "Cn"}


def speakable(text: str) -> str:
    """What a voice should read: no Markdown marks, links, custom emoji, emoji, symbols or code."""
    text = re.sub(r"```.*?```", " ", text, flags=re.DOTALL)
    text = re.sub(r"<a?:\w+:\d+>", " ", text)
    text = re.sub(r"<(?:@[!&]?|#)\d+>|<t:-?\d+(?::[tTdDfFR])?>", " ", text)
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text)
    text = re.sub(r"https?://\S+", " ", text)
    text = re.sub(r"^-# .*$", " ", text, flags=re.MULTILINE)
    text = re.sub(r"[*_`~>#|]+", "", text)
    text = "".join(" " if unicodedata.category(ch) in _SILENT_CATEGORIES else ch for ch in text)
    return re.sub(r"\s+", " ", text).strip()


def has_sounds(text: str) -> bool:
    """True when a voice would say something: a letter or a digit. `...`, `…`, `(^_^)`, `!!!`,
    emoji, a code block alone: nothing to say."""
    return any(unicodedata.category(ch)[0] in "LN" for ch in speakable(text))
