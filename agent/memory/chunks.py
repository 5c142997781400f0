"""Cutting documents into chunks small enough to embed and to quote in a prompt."""

from __future__ import annotations

import re

# Sentence ends in Latin, CJK and fullwidth scripts.
SENTENCE_END = re.compile(r"[.!?。！？…]+[\"'”」』)]*\s*")
_HEADING_CHARS = 80


def split_paragraphs(text: str, max_chars: int = 800) -> list[str]:
    """Paragraph chunks. A long paragraph is cut at sentence ends; a short heading joins what follows."""
    chunks: list[str] = []
    carry = ""
    for para in re.split(r"\n\s*\n", text):
        para = para.strip()
        if not para:
            continue
        if carry:
            para = f"{carry}\n{para}"
            carry = ""
        if len(para) < _HEADING_CHARS and para.lstrip().startswith("#"):
            carry = para
            continue
        while len(para) > max_chars:
            cut = max((m.end() for m in SENTENCE_END.finditer(para[:max_chars])), default=max_chars)
            chunks.append(para[:cut].strip())
            para = para[cut:].strip()
        if para:
            chunks.append(para)
    if carry:
        chunks.append(carry)
    return chunks
