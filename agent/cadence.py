"""The cadence rule for channels in `auto` mode: the judge considers at most one in N unprompted
messages, or a message that breaks T seconds of quiet. Everything else costs no model call."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class _ChannelPace:
    since_considered: int = 0
    last_message_at: float = field(default_factory=lambda: float("-inf"))


class Cadence:
    def __init__(self, every_n: int, quiet_seconds: float) -> None:
        self.every_n = every_n
        self.quiet_seconds = quiet_seconds
        self._channels: dict[int, _ChannelPace] = {}

    def consider(self, channel_id: int, now: float | None = None) -> tuple[bool, str]:
        """Count an unprompted message; True when the judge should look at it, with why."""
        now = time.monotonic() if now is None else now
        pace = self._channels.setdefault(channel_id, _ChannelPace())
        quiet_for = now - pace.last_message_at
        pace.last_message_at = now
        pace.since_considered += 1
        if quiet_for >= self.quiet_seconds:
            pace.since_considered = 0
            return True, "auto mode: first message after a quiet spell"
        if pace.since_considered >= self.every_n:
            pace.since_considered = 0
            return True, f"auto mode: one in {self.every_n} messages"
        return (
            False,
            f"auto mode cadence: {pace.since_considered} of {self.every_n} messages since the judge last looked",
        )
