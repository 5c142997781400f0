"""A safety net for what small models echo at the start of an answer: a speaker label or a mention.

Small models imitate the chat they read: `Observer: The capital…`, `alice: 42`, `@Observer 水の…`.
The prompt is laid out so they rarely do; this removes what slips through, from the stream as it
comes (holding back only the first few characters while they could still be such a label) and from
the stored text alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# A label is a name, maybe with an `@`, followed by a colon (ASCII or full-width) or, for a mention, a space.
_MENTION = re.compile(r"^\s*<@!?\d+>[,:：]?\s*")


class EchoScrubber:
    """Feed streamed text; get back what is safe to show. `finish` returns whatever is still held."""

    def __init__(self, names: Iterable[str]) -> None:
        self._names = sorted({n.strip().lower() for n in names if n and n.strip()}, key=len, reverse=True)
        self._held = ""
        self._decided = False
        self._removed = 0

    def feed(self, text: str) -> str:
        if self._decided:
            return text
        self._held += text
        while not self._undecided(self._held):
            scrubbed = scrub_echo(self._held, self._names, labels=1)
            if scrubbed == self._held or self._removed == 2:
                return self._release()
            # A label went; what follows may be another one (`Observer: @alice …`) or the space after it.
            self._held, self._removed = scrubbed, self._removed + 1
        return ""

    def finish(self) -> str:
        return "" if self._decided else self._release()

    def restart(self) -> None:
        """What was fed so far is void (it was the model thinking): the answer's own start comes next."""
        self._held, self._decided, self._removed = "", False, 0

    def _release(self) -> str:
        self._decided = True
        text, self._held = scrub_echo(self._held, self._names, labels=2 - self._removed), ""
        return text.lstrip() if self._removed else text

    def _undecided(self, text: str) -> bool:
        """Could the text so far still grow into a label?"""
        body = text.lstrip()
        if not body:
            return True
        if body.startswith("<@"):
            return ">" not in body or bool(re.match(r"^<@!?\d+>\s*$", body))
        bare = body.removeprefix("@").lower()
        for name in self._names:
            if name.startswith(bare):
                return True  # still typing the name
            if bare.startswith(name) and not bare[len(name) :].strip():
                return True  # the name, then perhaps a colon
        return False


def scrub_echo(text: str, names: Iterable[str], labels: int = 2) -> str:
    """The text without a leading speaker label (`Name:`, `@Name:`, `@Name `) or mention, twice at most
    (`Observer: @alice …`). Only whole names count: `Observers are…` is left alone."""
    wanted = sorted({n.strip() for n in names if n and n.strip()}, key=len, reverse=True)
    if not wanted:
        return text
    alternatives = "|".join(re.escape(n) for n in wanted)
    label = re.compile(rf"^\s*(?:@(?:{alternatives})(?![\w])[,:：]?|(?:{alternatives})\s*[:：])\s*", re.IGNORECASE)
    for _ in range(labels):
        stripped = _MENTION.sub("", text, count=1)
        stripped = label.sub("", stripped, count=1)
        if stripped == text:
            break
        text = stripped
    return text
