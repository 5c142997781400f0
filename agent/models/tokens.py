"""Token estimates for fitting prompts when the model's own tokenizer is not at hand.

Approximation: one token per CJK/kana/hangul character, one per four other characters.
It over-counts English slightly, which errs on the side of fitting.
"""

from __future__ import annotations

import re

_WIDE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")


def approx_tokens(text: str) -> int:
    wide = len(_WIDE.findall(text))
    return wide + (len(text) - wide + 3) // 4


def shorten_middle(text: str, max_tokens: int) -> str:
    """Keep the head and tail of an over-long text, with a marker saying what was cut."""
    if approx_tokens(text) <= max_tokens:
        return text
    # Characters per token varies with script; scale the cut by this text's own ratio.
    ratio = len(text) / max(approx_tokens(text), 1)
    keep = max(int(max_tokens * ratio) - 40, 20)
    head, tail = text[: keep * 2 // 3], text[-(keep // 3) :]
    return f"{head}\n[… {len(text) - len(head) - len(tail)} characters cut …]\n{tail}"
