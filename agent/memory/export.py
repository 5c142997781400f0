"""`observer dataset export`: the bot's conversations as OpenAI fine-tuning chat JSONL, with
members' corrections in place of the replies they corrected."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from agent.events import ChatLine
from agent.memory import tables
from agent.memory.record import Record

CONTEXT_MESSAGES = 10


async def _bot_replies(record: Record, guild_id: int | None) -> list[tuple[int, int]]:
    """(reply id, channel id) of every live bot reply, oldest first."""
    await record.flush()
    query = (
        select(tables.messages.c.id, tables.messages.c.channel_id)
        .join(tables.users, tables.users.c.id == tables.messages.c.author_id)
        .join(tables.channels, tables.channels.c.id == tables.messages.c.channel_id)
        .where(
            tables.users.c.is_bot.is_(True),
            tables.messages.c.deleted_at.is_(None),
            tables.messages.c.reply_to_id.isnot(None),
        )
        .order_by(tables.messages.c.id)
    )
    if guild_id is not None:
        query = query.where(tables.channels.c.guild_id == guild_id)
    async with record.engine.connect() as conn:
        return [(int(r.id), int(r.channel_id)) for r in (await conn.execute(query)).all()]


async def _corrections(record: Record) -> dict[int, str]:
    """The latest correction of each corrected bot reply."""
    async with record.engine.connect() as conn:
        rows = await conn.execute(
            select(tables.feedback.c.message_id, tables.feedback.c.text)
            .where(tables.feedback.c.kind == "correction", tables.feedback.c.message_id.isnot(None))
            .order_by(tables.feedback.c.id)
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
