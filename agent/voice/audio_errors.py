"""What goes wrong with a member's audio, apart from the decoder (PyAV loads only when audio comes)."""

from __future__ import annotations


class AudioError(ValueError):
    """Audio that cannot be decoded; the message says so in one line."""


class AudioTooLong(AudioError):
    """Audio longer than the cap: found by the container's stated duration or while decoding."""

    def __init__(self, max_seconds: float, found: str) -> None:
        super().__init__(f"longer than {max_seconds:g} s ({found})")
        self.max_seconds = max_seconds
