"""Render a streamed answer into Discord messages: edits about once a second, 2,000-character
splits, an in-progress marker that the final edit removes. The node streams tokens; this decides
how often Discord sees them."""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

from agent.safety import defuse_mentions
from discord_adapter.split import DISCORD_LIMIT, split_message

log = logging.getLogger(__name__)

IN_PROGRESS = " ▌"


class Fence(Protocol):
    def fenced(self) -> bool: ...
    async def steady(self) -> None: ...


class ChannelBudget:
    """One budget per channel for every message call there, posts and edits alike, shared by all streams.

    Discord allows 5 message calls per 5 s per channel, counting posts and edits together; this keeps
    to `calls` per `per` seconds (4 per 5 s: a margin for a member's slash command or clock skew), and
    spaces interim edits at least `interval` apart so a stream never spends the budget on tiny changes.

    Calls a member is waiting for (a reply's first post, a final edit) go before progress edits, which
    take turns in the order they asked, so every stream in a busy channel keeps moving. No waiter holds
    the channel while it sleeps: one dispatcher per channel hands out each slot when it opens.
    """

    def __init__(self, interval: float, calls: int = 4, per: float = 5.0) -> None:
        self.interval = interval
        self.calls = calls
        self.per = per
        self._channels: dict[int, _ChannelTurns] = {}
        # Several processes: no call while this process may have lost its questions to another (it was
        # frozen or cut off for longer than its lease) until it knows which are still its own.
        self.fence: Fence | None = None

    @contextlib.asynccontextmanager
    async def turn(self, channel_id: int, *, interim: bool = False) -> AsyncIterator[None]:
        """Wait for a slot, then make the one message call inside the block. The call counts from when
        it starts until it returns: Discord counts it when it arrives, somewhere in between, so two
        calls that travel at different speeds never land six in one window."""
        turns = self._channels.get(channel_id)
        if turns is None:
            turns = self._channels[channel_id] = _ChannelTurns(self)
        started = await turns.wait(interim)
        # Checked once the slot is ours, right before the call: a process frozen while it waited for
        # the slot wakes up here.
        while self.fence is not None and self.fence.fenced():
            turns.done(started)
            await self.fence.steady()
            started = await turns.wait(interim)
        try:
            yield
        finally:
            turns.done(started)

    async def wait_turn(self, channel_id: int, *, interim: bool = False) -> None:
        """A turn for a call that takes no time (tests); a real call goes inside `turn`."""
        async with self.turn(channel_id, interim=interim):
            pass

    def mark_interim(self, channel_id: int) -> None:
        """A post of a streaming part counts as the latest interim update: the next edit waits its turn."""
        turns = self._channels.get(channel_id)
        if turns is not None:
            turns.last_interim = time.monotonic()


class _ChannelTurns:
    """The waiting lines of one channel and the timer that serves them."""

    def __init__(self, budget: ChannelBudget) -> None:
        self.budget = budget
        self.recent: list[float] = []  # when the last calls went out (or returned), oldest first
        self.last_interim = float("-inf")
        self.urgent: deque[asyncio.Future[float]] = deque()
        self.interim: deque[asyncio.Future[float]] = deque()
        self._timer: asyncio.TimerHandle | None = None

    async def wait(self, interim: bool) -> float:
        """Wait for a turn; returns when the call started, for `done`."""
        turn: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        (self.interim if interim else self.urgent).append(turn)
        self._serve()
        try:
            granted = await turn
        except asyncio.CancelledError:
            # Given up (a stream finishing skips its pending progress edit): the slot goes to the next.
            for line in (self.urgent, self.interim):
                if turn in line:
                    line.remove(turn)
            self._serve()
            raise
        return self._move(granted, time.monotonic())

    def done(self, started: float) -> None:
        """The call returned: it counts until now (it may have reached Discord only just now)."""
        self._move(started, time.monotonic())

    def _move(self, was: float, now: float) -> float:
        """A call's time moves later: from its grant to when its caller runs (on a busy event loop that
        can be a second later), then to when it returns. Kept sorted, oldest first."""
        with contextlib.suppress(ValueError):
            self.recent.remove(was)
        bisect.insort(self.recent, now)
        return now

    def _serve(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        budget = self.budget
        while True:
            # A waiter that gave up leaves its line when its task next runs (see `wait`); until then its
            # cancelled turn is still here and is passed by below.
            if not self.urgent and not self.interim:
                return
            now = time.monotonic()
            while self.recent and now - self.recent[0] >= budget.per:
                self.recent.pop(0)
            over = len(self.recent) - budget.calls
            delay = budget.per - (now - self.recent[over]) if over >= 0 else 0.0
            line = self.urgent if self.urgent else self.interim
            if line is self.interim:
                delay = max(delay, self.last_interim + budget.interval - now)
            if delay > 0:
                self._timer = asyncio.get_running_loop().call_later(delay, self._serve)
                return
            turn = line.popleft()
            if turn.done():  # cancelled, its waiter not yet run: the slot goes to the next
                continue
            turn.set_result(now)
            bisect.insort(self.recent, now)
            if line is self.interim:
                self.last_interim = now


class Sink(Protocol):
    """Where the messages go: a channel (replying to a member) or an interaction."""

    async def send(self, content: str, first: bool) -> Any: ...

    async def edit(self, handle: Any, content: str) -> None: ...

    async def delete(self, handle: Any) -> None: ...


class StreamRenderer:
    def __init__(
        self,
        sink: Sink,
        budget: ChannelBudget,
        channel_id: int,
        *,
        limit: int = DISCORD_LIMIT,
        on_first_message: Callable[[], None] | None = None,
        on_posted: Callable[[list[Any]], Awaitable[None]] | None = None,
        resume: list[Any] | None = None,
    ) -> None:
        self.sink = sink
        self.budget = budget
        self.channel_id = channel_id
        self.limit = limit
        self.text = ""
        self.notice = ""  # shown until the answer starts (e.g. "all models are busy…")
        # [handle, content shown]; a resumed reply starts with the parts posted before the restart.
        self.sent: list[list[Any]] = [[handle, None] for handle in resume or []]
        self._on_first = on_first_message
        self._on_posted = on_posted
        self._dirty = asyncio.Event()
        self._closing = False
        self._abandoned = False  # no call starts from here (see `abandon`)
        self._pump: asyncio.Task[None] | None = None
        # True while a call to Discord is in flight: a post must finish so its handle is kept.
        self._calling = False

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

    def _chunks(self, final: bool, note: str = "", footer: str = "") -> list[str]:
        # Rendered from the whole text each time, so a mention split across tokens is still caught.
        text = defuse_mentions(self.text.rstrip()) + note
        if not self.text and self.notice and not final:
            return [f"-# {self.notice}{IN_PROGRESS}"]
        if final:
            chunks = split_message(text, self.limit) if text.strip() else []
            if footer and chunks:
                # Under the last part, never cut: a part of its own when the last one has no room.
                if len(chunks[-1]) + 1 + len(footer) <= self.limit:
                    chunks[-1] += "\n" + footer
                else:
                    chunks.append(footer)
            return chunks
        chunks = split_message(text, self.limit - len(IN_PROGRESS))
        chunks[-1] += IN_PROGRESS
        return chunks

    async def _render(self, final: bool, note: str = "", footer: str = "") -> None:
        chunks = self._chunks(final, note, footer)
        for i, content in enumerate(chunks):
            if self._abandoned:
                return
            if i < len(self.sent):
                if self.sent[i][1] == content:
                    continue
                async with self.budget.turn(self.channel_id, interim=not final):
                    self._calling = True
                    try:
                        await self.sink.edit(self.sent[i][0], content)
                    finally:
                        self._calling = False
                self.sent[i][1] = content
            else:
                async with self.budget.turn(self.channel_id):
                    self._calling = True
                    try:
                        handle = await self.sink.send(content, first=i == 0)
                    finally:
                        self._calling = False
                self._calling = True
                try:
                    self.sent.append([handle, content])
                    if not final:
                        self.budget.mark_interim(self.channel_id)
                    if i == 0 and self._on_first is not None:
                        self._on_first()
                    if self._on_posted is not None:
                        await self._on_posted([h for h, _ in self.sent])
                finally:
                    self._calling = False
        if final and chunks:
            # A regenerated (resumed) answer shorter than the one cut off: drop the extra parts.
            while len(self.sent) > len(chunks):
                handle, _ = self.sent.pop()
                async with self.budget.turn(self.channel_id):
                    await self.sink.delete(handle)

    def abandon(self) -> None:
        """Stop without a final edit: whatever this reply shows now stays (its run was stopped or failed).
        A call already on its way finishes (a post cut off would reach Discord with its handle lost, and
        be posted again by a retry); none starts after it."""
        self._closing = True
        self._abandoned = True
        if self._pump is not None and not self._calling:
            self._pump.cancel()

    async def finish(self, note: str = "", footer: str = "") -> None:
        """Final edits: no marker, every chunk in place; `note` (a failure) is appended visibly, `footer`
        (a subtext line: model, tokens, cost) goes under the last part."""
        self._closing = True
        self._dirty.set()
        if self._pump is not None:
            if not self._calling:
                # Waiting for its next interim slot: the final edit goes out now instead.
                self._pump.cancel()
            [outcome] = await asyncio.gather(self._pump, return_exceptions=True)
            if isinstance(outcome, Exception):  # a failed interim edit must not lose the final text
                log.warning("stream edit failed: %s", outcome)
        await self._render(final=True, note=note, footer=footer)
