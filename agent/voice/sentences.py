"""Cutting a streamed reply into sentences, so speech can start before the whole answer is written."""

from __future__ import annotations

import re

# A sentence ends at . ! ? … followed by whitespace (Latin, Cyrillic), or right after 。！？ (CJK,
# which puts no space between sentences), or at a line break. Closing quotes stay with their sentence.
_END = re.compile(r"(?:[.!?…]+[\"'”»)\]]*(?=\s)|[。！？]+[」』”）)]*|\n+)")
# Abbreviations that end in a dot but not a sentence.
_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "mr.", "mrs.", "ms.", "dr.", "st.", "vs.", "т.е.", "т.д.")
MIN_CHARS = 12


class SentenceSplitter:
    """Feed text as it streams; take complete sentences as soon as they end."""

    def __init__(self, min_chars: int = MIN_CHARS) -> None:
        self._buffer = ""
        self._min = min_chars

    def feed(self, text: str) -> list[str]:
        self._buffer += text
        sentences: list[str] = []
        start = 0
        for match in _END.finditer(self._buffer):
            candidate = self._buffer[start : match.end()].strip()
            if self._too_short_or_abbreviation(candidate, match.group(0)):
                continue
            if candidate:
                sentences.append(candidate)
            start = match.end()
        self._buffer = self._buffer[start:]
        return sentences

    def _too_short_or_abbreviation(self, candidate: str, ending: str) -> bool:
        if "\n" in ending or any(ch in ending for ch in "。！？"):
            return False  # CJK sentences are short in characters but complete
        if candidate.lower().endswith(_ABBREVIATIONS):
            return True
        # "3." in "3.5" is excluded by needing whitespace after; short bits join the next sentence.
        return len(candidate) < self._min

    def flush(self) -> list[str]:
        rest = self._buffer.strip()
        self._buffer = ""
        return [rest] if rest else []


def split_sentences(text: str) -> list[str]:
    splitter = SentenceSplitter()
    return splitter.feed(text) + splitter.flush()


_CLAUSE = re.compile(r"(?<=[,;:、，；：])\s*")
CLAUSE_SPLIT_CHARS = 60


def speech_pieces(sentence: str, min_chars: int = 20) -> list[str]:
    """A long sentence in clause-sized pieces, so speech starts after the first clause is synthesised
    rather than the whole sentence; short sentences stay whole (a pause at every comma sounds odd)."""
    if len(sentence) <= CLAUSE_SPLIT_CHARS:
        return [sentence]
    pieces: list[str] = []
    for part in _CLAUSE.split(sentence):
        if pieces and (len(pieces[-1]) < min_chars or len(part) < min_chars):
            joiner = "" if re.search(r"[、，；：]$", pieces[-1]) else " "  # CJK clauses join without a space
            pieces[-1] = f"{pieces[-1]}{joiner}{part}".strip()
        elif part:
            pieces.append(part)
    return pieces
