"""Render a streamed answer into Discord messages: edits about once a second, 2,000-character
splits, an in-progress marker that the final edit removes. The node streams tokens; this decides
how often Discord sees them."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from agent.safety import defuse_mentions
from discord_adapter.split import DISCORD_LIMIT, split_message

log = logging.getLogger(__name__)

IN_PROGRESS = " ▌"


class EditBudget:
    """One budget per channel, shared by every stream there: edits at least `interval` apart.

    Discord allows about five message edits per five seconds per channel; one a second per channel
    keeps every stream under that, and each message at most one edit a second.
    """

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._next: dict[int, float] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    async def wait_turn(self, channel_id: int) -> None:
        lock = self._locks.setdefault(channel_id, asyncio.Lock())
        async with lock:
            delay = self._next.get(channel_id, 0.0) - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            self._next[channel_id] = time.monotonic() + self.interval


class Sink(Protocol):
    """Where the messages go: a channel (replying to a member) or an interaction."""

    async def send(self, content: str, first: bool) -> Any: ...

    async def edit(self, handle: Any, content: str) -> None: ...


class StreamRenderer:
    def __init__(
        self,
        sink: Sink,
        budget: EditBudget,
        channel_id: int,
        *,
        limit: int = DISCORD_LIMIT,
        on_first_message: Callable[[], None] | None = None,
    ) -> None:
        self.sink = sink
        self.budget = budget
        self.channel_id = channel_id
        self.limit = limit
        self.text = ""
        self.notice = ""  # shown until the answer starts (e.g. "all models are busy…")
        self.sent: list[list[Any]] = []  # [handle, content shown]
        self._on_first = on_first_message
        self._dirty = asyncio.Event()
        self._closing = False
        self._pump: asyncio.Task[None] | None = None

    @property
    def messages_sent(self) -> int:
        return len(self.sent)

    def feed(self, token: str) -> None:
        self.text += token
        self._wake()

    def show_notice(self, notice: str) -> None:
        self.notice = notice
        self._wake()

    def _wake(self) -> None:
        self._dirty.set()
        if self._pump is None:
            self._pump = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while not self._closing:
            await self._dirty.wait()
            self._dirty.clear()
            if self._closing:
                break
            await self._render(final=False)

    def _chunks(self, final: bool, note: str = "") -> list[str]:
        # Rendered from the whole text each time, so a mention split across tokens is still caught.
        text = defuse_mentions(self.text.rstrip()) + note
        if not self.text and self.notice and not final:
            return [f"-# {self.notice}{IN_PROGRESS}"]
        if final:
            return split_message(text, self.limit) if text.strip() else []
        chunks = split_message(text, self.limit - len(IN_PROGRESS))
        chunks[-1] += IN_PROGRESS
        return chunks

    async def _render(self, final: bool, note: str = "") -> None:
        for i, content in enumerate(self._chunks(final, note)):
            if i < len(self.sent):
                if self.sent[i][1] == content:
                    continue
                await self.budget.wait_turn(self.channel_id)
                await self.sink.edit(self.sent[i][0], content)
                self.sent[i][1] = content
            else:
                handle = await self.sink.send(content, first=i == 0)
                self.sent.append([handle, content])
                if i == 0 and self._on_first is not None:
                    self._on_first()

    async def finish(self, note: str = "") -> None:
        """Final edits: no marker, every chunk in place; `note` (a failure) is appended visibly."""
        self._closing = True
        self._dirty.set()
        if self._pump is not None:
            try:
                await self._pump
            except Exception as exc:  # a failed interim edit must not lose the final text
                log.warning("stream edit failed: %s", exc)
        await self._render(final=True, note=note)
