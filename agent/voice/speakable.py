"""What a voice should read of a Markdown answer."""

from __future__ import annotations

import re


def speakable(text: str) -> str:
    """What a voice should read: no Markdown marks, links, custom emoji or code."""
    text = re.sub(r"```.*?```", " ", text, flags=re.DOTALL)
    text = re.sub(r"<a?:\w+:\d+>", " ", text)
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text)
    text = re.sub(r"https?://\S+", " ", text)
    text = re.sub(r"^-# .*$", " ", text, flags=re.MULTILINE)
    text = re.sub(r"[*_`~>#|]+", "", text)
    return re.sub(r"\s+", " ", text).strip()
