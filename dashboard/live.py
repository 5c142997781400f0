"""The live feed: one poll of the record per dashboard process, whoever watches, fanned out to each
watcher's queue; each watcher sees only what its session may read and asked for (channel, state)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator

from agent.memory.feed import FeedCursor, FeedItem, FeedReader

log = logging.getLogger(__name__)

REMEMBERED = 5000  # items whose last sent version is kept, so an unchanged re-read is not sent again
QUEUE_SIZE = 1000  # a watcher this far behind loses the oldest items, not the process's memory


class LiveFeed:
    """Polls `reader` every `poll_seconds` while anyone watches; stops when the last watcher leaves."""

    def __init__(self, reader: FeedReader, poll_seconds: float) -> None:
        self.reader = reader
        self.poll_seconds = poll_seconds
        self._watchers: set[asyncio.Queue[FeedItem]] = set()
        self._sent: OrderedDict[int, FeedItem] = OrderedDict()
        self._task: asyncio.Task[None] | None = None

    @contextlib.asynccontextmanager
    async def watch(self) -> AsyncIterator[asyncio.Queue[FeedItem]]:
        """A queue of every changed item from now until the block ends."""
        queue: asyncio.Queue[FeedItem] = asyncio.Queue(QUEUE_SIZE)
        self._watchers.add(queue)
        if self._task is None or self._task.done():
            cursor = await self.reader.cursor()
            self._task = asyncio.create_task(self._poll(cursor))
        try:
            yield queue
        finally:
            self._watchers.discard(queue)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _poll(self, cursor: FeedCursor) -> None:
        while self._watchers:
            try:
                items, cursor = await self.reader.changes(cursor)
            except Exception as exc:  # the database away: the feed pauses, the page stays
                log.warning("dashboard: live feed read failed (%s)", type(exc).__name__)
                items = []
            for item in items:
                if self._sent.get(item.message_id) == item:
                    continue
                self._sent[item.message_id] = item
                self._sent.move_to_end(item.message_id)
                while len(self._sent) > REMEMBERED:
                    self._sent.popitem(last=False)
                for queue in list(self._watchers):
                    if queue.full():
                        queue.get_nowait()
                    queue.put_nowait(item)
            await asyncio.sleep(self.poll_seconds)
