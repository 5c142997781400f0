"""Automatic threads (`/observer threads`): when an answer opens a thread, and which threads are followed.

A channel's `threads` setting (stored in its JSON settings):
- "on": every answer to a question in the channel opens a public thread named after the question.
- "auto": only when the channel is busy: another member (not the asker, not a bot) wrote there within
  `BUSY_WINDOW`. A quiet channel keeps its answers inline, where a thread would only hide them;
  a conversation between others is what a thread keeps an answer out of.
- unset: off.

Inside a thread the bot opened, and in a post of a forum whose threads are on, every message of the
member who asked (the post's author) is to the bot (the thread is the conversation; others there talk to
each other and need a mention), until the thread is archived or locked: from then on it is not followed
again (a member writing in it reopens it on Discord, but the bot needs a mention again).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from agent.events import Event
from agent.memory.record import Record

ThreadMode = Literal["on", "auto"]
THREAD_MODES: tuple[ThreadMode, ...] = ("on", "auto")
BUSY_WINDOW = timedelta(minutes=10)
CLOSED_KEY = "thread_closed"  # set on a thread's own settings once it was archived or locked
WARNED_KEY = "threads_warned"  # the channel was told once that the bot lacks thread permissions


def thread_mode(settings: dict[str, Any]) -> ThreadMode | None:
    mode = settings.get("threads")
    return mode if mode in THREAD_MODES else None


async def opens_thread(record: Record, event: Event, now: datetime) -> bool:
    """Whether the answer to `event` (a channel message, not in a thread) goes into a new thread."""
    if event.is_dm:
        return False
    mode = thread_mode(await record.cached_channel_settings(event.channel_id))
    if mode == "on":
        return True
    if mode == "auto":
        return await record.others_spoke_since(event.channel_id, event.author_id, now - BUSY_WINDOW)
    return False


async def follows_thread(record: Record, thread_id: int, parent_id: int, *, opened_by_bot: bool) -> bool:
    """Whether the bot follows this thread: threads are on in its parent, it opened the thread (or the
    parent is a forum, where every post is a conversation: the caller says so with `opened_by_bot`), and
    the thread was never archived or locked."""
    if not opened_by_bot or thread_mode(await record.cached_channel_settings(parent_id)) is None:
        return False
    return not (await record.cached_channel_settings(thread_id)).get(CLOSED_KEY)
