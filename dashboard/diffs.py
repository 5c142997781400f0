"""A unified diff (difflib) as lines the page colours: what a save would change, shown before it."""

from __future__ import annotations

import difflib
from dataclasses import dataclass


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "file", "hunk", "add", "del" or "same": the line's CSS class
    text: str


def unified(old: str, new: str, old_name: str, new_name: str) -> list[DiffLine]:
    """The diff from `old` to `new`; empty when they are the same."""
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), fromfile=old_name, tofile=new_name, lineterm="")
    return [DiffLine(_kind(i, line), line) for i, line in enumerate(lines)]


def _kind(index: int, line: str) -> str:
    if index < 2:  # the two file names (a removed line "-- x" reads "--- x" further down)
        return "file"
    if line.startswith("@@"):
        return "hunk"
    return {"+": "add", "-": "del"}.get(line[:1], "same")
