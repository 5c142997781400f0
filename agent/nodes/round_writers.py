"""Stream writers a reply round writes its tokens through: echo scrubbing, and the gap after an earlier
round's text."""

from __future__ import annotations

from typing import Any

from agent.models.echo import EchoScrubber
from agent.stream import Thinking, Token


def scrubbed(echo: EchoScrubber, writer: Any) -> Any:
    """The stream writer with a leading echoed label or mention held back and removed.

    A retraction (the round's text so far was the model thinking) is counted here in what this round
    actually wrote: the reader counts the model's characters, some of which the scrubber held or removed,
    and a door taking back that many would cut into an earlier round's text."""
    streamed = 0

    def write(item: Any) -> None:
        nonlocal streamed
        if isinstance(item, Token):
            text = echo.feed(item.text)
            if text:
                streamed += len(text)
                writer(Token(text=text))
        elif isinstance(item, Thinking) and item.retract:
            taken, streamed = streamed, 0
            echo.restart()  # what it holds was thinking too; the answer's start may echo a label again
            writer(Thinking(retract=taken))
        else:
            writer(item)

    return write


def after(earlier: str, writer: Any) -> Any:
    """The stream writer for a later round: its first token is set apart from the earlier rounds' text."""
    if not earlier.strip():
        return writer
    pending = True

    def write(item: Any) -> None:
        nonlocal pending
        if pending and isinstance(item, Token) and item.text.strip():
            pending = False
            writer(Token(text="\n\n"))
        writer(item)

    return write
