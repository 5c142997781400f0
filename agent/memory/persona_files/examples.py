"""A persona's example messages (SillyTavern's `mes_example`) as dialogue turns.

A model, a small one above all, follows the length, tone and language of a few shown exchanges far
better than a description of them; so examples written as dialogue (`{{user}}: …` / `{{char}}: …`
lines, SillyTavern's form) are given to the model as earlier turns of the chat, and only an example
that is not dialogue stays in the system prompt as text."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal

Role = Literal["user", "char"]
ExampleTurn = tuple[Role, str]

# SillyTavern's speaker macros (double or single braces), the older <USER> / <BOT> forms and `User`,
# at the start of a line.
_USER = ("{{user}}", "{user}", "<user>", "user")
_CHAR = ("{{char}}", "{char}", "<bot>")
_START = re.compile(r"^[ \t]*<START>[ \t]*$", re.IGNORECASE | re.MULTILINE)


def example_turns(example: str, name: str = "") -> list[ExampleTurn] | None:
    """One example's turns, in order; None when it is not dialogue (text before the first speaker, or
    no speaker at all). A line without a speaker continues the turn above it. `name`: the persona's
    own name also marks its lines (cards stored before their examples kept the macro)."""
    speaker = _speaker_pattern(name.lower())
    turns: list[tuple[Role, list[str]]] = []
    for line in example.strip().splitlines():
        found = speaker.match(line)
        if found:
            role: Role = "user" if found.group(1).lower() in _USER else "char"
            turns.append((role, [line[found.end() :]]))
        elif turns:
            turns[-1][1].append(line)
        elif line.strip():
            return None
    kept = [(role, "\n".join(lines).strip()) for role, lines in turns]
    return [(role, text) for role, text in kept if text] or None


@lru_cache(maxsize=256)
def _speaker_pattern(name: str) -> re.Pattern[str]:
    """A line's speaker label (compiled once per persona name: examples are read on every message)."""
    speakers = [*_USER, *_CHAR, *([name] if name else [])]
    return re.compile(r"^[ \t]*(" + "|".join(re.escape(s) for s in speakers) + r")[ \t]*[:：][ \t]?", re.IGNORECASE)


def split_examples(text: str) -> list[str]:
    """Examples written one after another, each opened by a `<START>` line (SillyTavern's separator)."""
    return [part.strip() for part in _START.split(text) if part.strip()]
