"""`observer dataset export`: the bot's conversations as OpenAI fine-tuning chat JSONL, with
members' corrections in place of the replies they corrected."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Table, select

from agent.events import ChatLine
from agent.memory.record import Record
from agent.memory.tables import Channel, Feedback, Message, User

_messages: Table = Message.__table__  # type: ignore[assignment]
_users: Table = User.__table__  # type: ignore[assignment]
_channels: Table = Channel.__table__  # type: ignore[assignment]
_feedback: Table = Feedback.__table__  # type: ignore[assignment]
CONTEXT_MESSAGES = 10


async def _bot_replies(record: Record, guild_id: int | None) -> list[tuple[int, int]]:
    """(reply id, channel id) of every live bot reply, oldest first."""
    await record.flush()
    query = (
        select(_messages.c.id, _messages.c.channel_id)
        .join(_users, _users.c.id == _messages.c.author_id)
        .join(_channels, _channels.c.id == _messages.c.channel_id)
        .where(_users.c.is_bot.is_(True), _messages.c.deleted_at.is_(None), _messages.c.reply_to_id.isnot(None))
        .order_by(_messages.c.id)
    )
    if guild_id is not None:
        query = query.where(_channels.c.guild_id == guild_id)
    async with record.engine.connect() as conn:
        return [(int(r.id), int(r.channel_id)) for r in (await conn.execute(query)).all()]


async def _corrections(record: Record) -> dict[int, str]:
    """The latest correction of each corrected bot reply."""
    async with record.engine.connect() as conn:
        rows = await conn.execute(
            select(_feedback.c.message_id, _feedback.c.text)
            .where(_feedback.c.kind == "correction", _feedback.c.message_id.isnot(None))
            .order_by(_feedback.c.id)
        )
        return {int(r.message_id): r.text for r in rows}


def _as_chat(lines: list[ChatLine], corrections: dict[int, str], system: str) -> dict[str, Any] | None:
    messages: list[dict[str, str]] = [{"role": "system", "content": system}]
    for line in lines:
        if line.is_bot:
            if len(messages) == 1:
                continue  # a conversation starts with a member speaking
            messages.append({"role": "assistant", "content": corrections.get(line.message_id, line.text)})
        elif line.text.strip():
            messages.append({"role": "user", "content": f"{line.author}: {line.text}"})
    if len(messages) < 3 or messages[-1]["role"] != "assistant":
        return None
    return {"messages": messages}


async def export_conversations(record: Record, bot_name: str, guild_id: int | None = None) -> list[str]:
    """JSON lines, one conversation per bot reply: the messages before it, then the reply."""
    corrections = await _corrections(record)
    system = f"You are {bot_name}, a member of a Discord community."
    out: list[str] = []
    for reply_id, channel_id in await _bot_replies(record, guild_id):
        lines = await record.window(channel_id, CONTEXT_MESSAGES, before_id=reply_id + 1)
        chat = _as_chat(lines, corrections, system)
        if chat is not None:
            out.append(json.dumps(chat, ensure_ascii=False))
    return out
