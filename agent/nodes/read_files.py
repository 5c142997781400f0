"""read_files: text files and PDFs attached to a message the bot considers are read (within the caps)
and kept with the message in the record; binary files stay named only."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from langgraph.runtime import Runtime

from agent.attachments.read import Limits, not_read, read_attachment, unread
from agent.events import Event
from agent.memory.record import Record
from agent.state import Context, State


def has_unread_files(event: Event) -> bool:
    return any(unread(a) for a in event.attachments)


@dataclass
class ReadFiles:
    record: Record
    limits: Limits

    async def __call__(self, state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        started = time.perf_counter()
        event = state["event"]
        todo = [i for i, a in enumerate(event.attachments) if unread(a)]
        now, later = todo[: self.limits.per_message], todo[self.limits.per_message :]
        attachments = list(event.attachments)
        read = await asyncio.gather(*(read_attachment(attachments[i], self.limits) for i in now))
        for i, attachment in zip(now, read, strict=True):
            attachments[i] = attachment
        for i in later:
            attachments[i] = not_read(attachments[i], f"only {self.limits.per_message} files of a message are read")
        await self.record.store_attachment_texts(
            event.message_id, {i: (attachments[i].text, attachments[i].note) for i in todo}
        )
        return {
            "event": event.model_copy(update={"attachments": attachments}),
            "timings": {"read_files_ms": (time.perf_counter() - started) * 1000},
        }
