"""Learning from `/correct` and `/feedback`: each is stored in the record and embedded by the
situation it is about (the member's question), so a similar question later retrieves it."""

from __future__ import annotations

import asyncio

from agent.memory.knowledge import Entry, MemoryStore
from agent.memory.record import Record
from agent.memory.scopes import guidance_scope


async def learn(
    record: Record,
    memory: MemoryStore,
    *,
    kind: str,
    user_id: int,
    text: str,
    message_id: int | None,
    guild_id: int | None,
    channel_id: int | None,
    rating: str | None = None,
) -> int:
    """Store the feedback first (never lost), then embed it as guidance. Returns the record's id."""
    row_id = await record.add_feedback(
        kind=kind,
        user_id=user_id,
        text=text,
        message_id=message_id,
        guild_id=guild_id,
        channel_id=channel_id,
        rating=rating,
    )
    if message_id is None:
        return row_id
    question = await record.answered(message_id)
    answer = await record.message(message_id)
    situation = question.text if question and question.text else (answer.text if answer else "")
    if not situation:
        return row_id
    if kind == "correction":
        said = f"When asked “{situation}”, the right answer is: {text}"
    else:
        said = f"About an answer to “{situation}”, a member said: {text}"
    entry = Entry(
        kind="guidance",
        scope=guidance_scope(guild_id, user_id),
        persona="",
        source=f"{kind}:{row_id}",
        text=said,
        embed_text=situation,
    )
    await asyncio.to_thread(memory.add, [entry])
    return row_id
