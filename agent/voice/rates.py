"""Sample rates the voice path works in."""

WHISPER_RATE = 16_000  # Hz, mono: what Whisper models read
