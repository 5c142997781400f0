"""Reading what was said: a channel's window, one message, a reply chain, who answered what."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select

from agent.attachments.render import render_attachments
from agent.events import Attachment, ChatLine
from agent.member_texts import without_notes
from agent.memory import tables
from agent.memory.record.writes import RecordCore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredMessage:
    """One recorded message with its files as stored (what was read from them included)."""

    author: str
    text: str  # as the models read it (a bot's door notes left out), without its files
    created_at: datetime | None
    attachments: list[Attachment]
    deleted: bool


class MessageReads(RecordCore):
    """Reading what was said: a channel's window, one message, a reply chain, who answered what."""

    def _lines_query(self) -> Any:
        """Every read of what was said goes through here: private exchanges are never among them."""
        return (
            select(
                tables.messages.c.id,
                tables.messages.c.content,
                tables.messages.c.created_at,
                tables.messages.c.attachments,
                func.coalesce(tables.messages.c.shown_name, tables.users.c.name).label("name"),
                tables.users.c.is_bot,
            )
            .join(tables.users, tables.users.c.id == tables.messages.c.author_id)
            .where(tables.messages.c.private.is_(False))
        )

    @staticmethod
    def _line(row: Any) -> ChatLine:
        # The bot's own replies as the models read them: without the notes the door appended (cut, restart).
        text = without_notes(row.content or "") if row.is_bot else row.content or ""
        if row.attachments:
            files = render_attachments((a.get("filename", "?"), a.get("text"), a.get("note")) for a in row.attachments)
            text = f"{text} {files}".strip()
        return ChatLine(message_id=row.id, author=row.name, text=text, is_bot=row.is_bot, created_at=row.created_at)

    async def window(self, channel_id: int, limit: int, before_id: int | None = None) -> list[ChatLine]:
        """The last `limit` live messages of a channel before `before_id`, oldest first."""
        await self.flush()
        window_start = (
            select(func.coalesce(tables.channels.c.window_after_id, 0))
            .where(tables.channels.c.id == channel_id)
            .scalar_subquery()
        )
        query = self._lines_query().where(
            and_(
                tables.messages.c.channel_id == channel_id,
                tables.messages.c.deleted_at.is_(None),
                tables.messages.c.id > func.coalesce(window_start, 0),
            )
        )
        if before_id is not None:
            query = query.where(tables.messages.c.id < before_id)
        query = query.order_by(tables.messages.c.id.desc()).limit(limit)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [self._line(r) for r in reversed(rows)]

    async def message(self, message_id: int) -> ChatLine | None:
        await self.flush()
        async with self.engine.connect() as conn:
            row = (await conn.execute(self._lines_query().where(tables.messages.c.id == message_id))).first()
        return self._line(row) if row else None

    async def message_in(self, channel_id: int, message_id: int) -> StoredMessage | None:
        """A message of this channel (None: not recorded there; a message of another channel is not
        found by naming this one, so a link cannot borrow a readable channel's id)."""
        await self.flush()
        query = self._lines_query().add_columns(tables.messages.c.deleted_at)
        query = query.where(and_(tables.messages.c.id == message_id, tables.messages.c.channel_id == channel_id))
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        return StoredMessage(
            author=row.name,
            text=without_notes(row.content or "") if row.is_bot else row.content or "",
            created_at=row.created_at,
            attachments=[Attachment.model_validate(a) for a in row.attachments or []],
            deleted=row.deleted_at is not None,
        )

    async def reply_chain(self, reply_to_id: int | None, limit: int) -> list[ChatLine]:
        """Walk reply references upward from `reply_to_id`; oldest first."""
        await self.flush()
        chain: list[ChatLine] = []
        seen: set[int] = set()
        async with self.engine.connect() as conn:
            while reply_to_id is not None and len(chain) < limit and reply_to_id not in seen:
                seen.add(reply_to_id)
                row = (
                    await conn.execute(
                        self._lines_query()
                        .add_columns(tables.messages.c.reply_to_id)
                        .where(tables.messages.c.id == reply_to_id)
                    )
                ).first()
                if row is None:
                    break
                chain.append(self._line(row))
                reply_to_id = row.reply_to_id
        return list(reversed(chain))

    async def count_messages(self, channel_id: int | None = None) -> int:
        await self.flush()
        query = select(func.count()).select_from(tables.messages)
        if channel_id is not None:
            query = query.where(tables.messages.c.channel_id == channel_id)
        async with self.engine.connect() as conn:
            return int(await conn.scalar(query) or 0)

    async def stored_text(self, message_id: int) -> str | None:
        await self.flush()
        async with self.engine.connect() as conn:
            value = await conn.scalar(select(tables.messages.c.content).where(tables.messages.c.id == message_id))
        return None if value is None else str(value)

    async def last_bot_reply(self, channel_id: int, to_user_id: int | None = None) -> int | None:
        """The bot's most recent reply in a channel (to one member's message, when given)."""
        await self.flush()
        # A bot reply points at what it answers: `answers_id` where the graph stored it, the reply
        # reference where the platform echoed it back (Discord); both set reply_to_id.
        answered = tables.messages.alias("answered")
        query = (
            select(tables.messages.c.id)
            .join(tables.users, tables.users.c.id == tables.messages.c.author_id)
            .where(
                and_(
                    tables.messages.c.channel_id == channel_id,
                    tables.users.c.is_bot.is_(True),
                    tables.messages.c.reply_to_id.isnot(None),
                )
            )
        )
        if to_user_id is not None:
            query = query.join(answered, answered.c.id == tables.messages.c.reply_to_id).where(
                answered.c.author_id == to_user_id
            )
        async with self.engine.connect() as conn:
            value = await conn.scalar(query.order_by(tables.messages.c.id.desc()).limit(1))
        return None if value is None else int(value)

    async def answered(self, message_id: int) -> ChatLine | None:
        """The message a reply answers (the one it points at), if stored."""
        await self.flush()
        async with self.engine.connect() as conn:
            reply_to = await conn.scalar(
                select(tables.messages.c.reply_to_id).where(tables.messages.c.id == message_id)
            )
        return None if reply_to is None else await self.message(int(reply_to))

    async def author_of(self, message_id: int) -> int | None:
        """Who wrote a recorded message (None: not in the record)."""
        await self.flush()
        async with self.engine.connect() as conn:
            value = await conn.scalar(select(tables.messages.c.author_id).where(tables.messages.c.id == message_id))
        return None if value is None else int(value)

    async def is_bot_message(self, message_id: int) -> bool:
        await self.flush()
        async with self.engine.connect() as conn:
            value = await conn.scalar(
                select(tables.users.c.is_bot)
                .join(tables.messages, tables.messages.c.author_id == tables.users.c.id)
                .where(tables.messages.c.id == message_id)
            )
        return bool(value)

    async def said_since(self, channel_id: int, since: datetime, limit: int) -> tuple[list[ChatLine], bool]:
        """A channel's live messages written at or after `since` (aware), oldest first: the newest `limit`
        of them, and whether older ones were left out for the limit. The whole record, whatever
        `/observer reset` hid from the bot's window (a summary is of what was said, not what it reads)."""
        await self.flush()
        query = (
            self._lines_query()
            .where(
                and_(
                    tables.messages.c.channel_id == channel_id,
                    tables.messages.c.deleted_at.is_(None),
                    tables.messages.c.created_at >= since,
                )
            )
            .order_by(tables.messages.c.id.desc())
            .limit(limit + 1)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [self._line(r) for r in reversed(rows[:limit])], len(rows) > limit

    async def others_spoke_since(self, channel_id: int, author_id: int, since: datetime) -> bool:
        """Whether a member other than `author_id` (not a bot) wrote in the channel at or after `since`."""
        await self.flush()
        query = (
            select(tables.messages.c.id)
            .join(tables.users, tables.users.c.id == tables.messages.c.author_id)
            .where(
                and_(
                    tables.messages.c.channel_id == channel_id,
                    tables.messages.c.author_id != author_id,
                    tables.users.c.is_bot.is_(False),
                    tables.messages.c.private.is_(False),
                    tables.messages.c.created_at >= since,
                )
            )
            .limit(1)
        )
        async with self.engine.connect() as conn:
            return await conn.scalar(query) is not None
