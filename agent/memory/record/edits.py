"""Changes to stored messages: edits, deletions, transcripts, and hiding a channel's window."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, select, update

from agent.memory import tables
from agent.memory.record.writes import RecordCore
from agent.memory.retrying import retrying

log = logging.getLogger(__name__)


class MessageEdits(RecordCore):
    """Changes to stored messages: edits, deletions, transcripts, and hiding a channel's window."""

    async def mark_edited(self, message_id: int, text: str, at: datetime | None = None) -> None:
        await self.flush()
        values = {"content": text, "edited_at": at or datetime.now(UTC)}
        await retrying(lambda: self._update_message(message_id, values), self.patience, "recording an edit")

    async def _update_message(self, message_id: int, values: dict[str, Any]) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(update(tables.messages).where(tables.messages.c.id == message_id).values(**values))

    async def store_transcript(self, message_id: int, transcript: str) -> None:
        """Keep what a voice message said with the message: its text, and on its audio attachment."""
        await self.flush()
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    select(tables.messages.c.content, tables.messages.c.attachments).where(
                        tables.messages.c.id == message_id
                    )
                )
            ).first()
            if row is None:
                return
            attachments = [dict(a) for a in row.attachments or []]
            for attachment in attachments:
                if attachment.get("is_voice") or str(attachment.get("content_type") or "").startswith("audio/"):
                    attachment["transcript"] = transcript
                    break
            content = f"{row.content}\n{transcript}" if row.content else transcript
            await conn.execute(
                update(tables.messages)
                .where(tables.messages.c.id == message_id)
                .values(content=content, attachments=attachments)
            )

    async def store_attachment_texts(self, message_id: int, read: dict[int, tuple[str | None, str | None]]) -> None:
        """Keep what was read from a message's files (by position: text and note) on its attachments."""
        await self.flush()
        async with self.engine.begin() as conn:
            stored = await conn.scalar(select(tables.messages.c.attachments).where(tables.messages.c.id == message_id))
            if stored is None:
                return
            attachments = [dict(a) for a in stored]
            for index, (text, note) in read.items():
                if index < len(attachments):
                    attachments[index].update(text=text, note=note)
            await conn.execute(
                update(tables.messages).where(tables.messages.c.id == message_id).values(attachments=attachments)
            )

    async def mark_deleted(self, message_id: int, at: datetime | None = None) -> None:
        await self.flush()
        values = {"deleted_at": at or datetime.now(UTC)}
        await retrying(lambda: self._update_message(message_id, values), self.patience, "recording a deletion")

    async def reset_window(self, channel_id: int) -> int:
        """Forget the channel's window for the models; returns how many messages it hid."""
        await self.flush()
        async with self.engine.begin() as conn:
            last = await conn.scalar(
                select(func.max(tables.messages.c.id)).where(tables.messages.c.channel_id == channel_id)
            )
            previous = await conn.scalar(
                select(tables.channels.c.window_after_id).where(tables.channels.c.id == channel_id)
            )
            hidden = await conn.scalar(
                select(func.count())
                .select_from(tables.messages)
                .where(and_(tables.messages.c.channel_id == channel_id, tables.messages.c.id > (previous or 0)))
            )
            await conn.execute(
                update(tables.channels).where(tables.channels.c.id == channel_id).values(window_after_id=last)
            )
        return int(hidden or 0)
