"""Stream writers a reply round writes its tokens through: echo scrubbing, and the gap after an earlier
round's text."""

from __future__ import annotations

from typing import Any

from agent.models.echo import EchoScrubber
from agent.stream import Token


def scrubbed(echo: EchoScrubber, writer: Any) -> Any:
    """The stream writer with a leading echoed label or mention held back and removed."""

    def write(item: Any) -> None:
        if isinstance(item, Token):
            text = echo.feed(item.text)
            if text:
                writer(Token(text=text))
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
