"""The rows the record writes: a member's message as it arrives, the bot's reply, a model call's usage."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from agent.events import Event
from agent.memory.progress import MessageState


def arrival_row(
    event: Event, state: MessageState | None, arrived: datetime, holder: str | None = None
) -> dict[str, Any]:
    """A message as it arrives; `state` (waiting, skipped ...) is set with its time and the process that
    took it in (`holder`) when given."""
    return {
        "id": event.message_id,
        "channel_id": event.channel_id,
        "author_id": event.author_id,
        "content": event.text,
        "created_at": event.created_at,
        "shown_name": event.shown_name,
        "reply_to_id": event.reply_to_id,
        "answers_id": None,
        "edited_at": None,
        "deleted_at": None,
        "attachments": [a.model_dump(mode="json") for a in event.attachments],
        "state": state,
        "state_at": arrived if state else None,
        "holder": holder if state else None,
        "private": event.private,
    }


def reply_row(answered: Event, text: str, bot_id: int, bot_name: str, reply_id: int) -> dict[str, Any]:
    """The bot's reply, linked to what it answers. `_event` and `_author` name the rows it needs first."""
    return {
        "_event": answered,
        "_author": {"id": bot_id, "name": bot_name, "is_bot": True},
        "id": reply_id,
        "channel_id": answered.channel_id,
        "author_id": bot_id,
        "content": text,
        "created_at": datetime.now(UTC),
        "reply_to_id": answered.message_id,
        "answers_id": answered.message_id,
        "attachments": [],
        "private": answered.private,  # an answer is as private as its question
    }


def usage_row(
    event: Event | None,
    *,
    purpose: str,
    model: str,
    tokens_in: int,
    tokens_out: int,
    cost_usd: float,
    latency_ms: float,
    ok: bool = True,
    error: str | None = None,
) -> dict[str, Any]:
    """One model call's usage row (tokens, cost in USD, latency in ms), tied to the message it was for."""
    return {
        "created_at": datetime.now(UTC),
        "message_id": event.message_id if event else None,
        "guild_id": event.guild_id if event else None,
        "channel_id": event.channel_id if event else None,
        "user_id": event.author_id if event else None,
        "purpose": purpose,
        "model": model,
        "tokens_in": tokens_in,
        "tokens_out": tokens_out,
        "cost_usd": cost_usd,
        "latency_ms": latency_ms,
        "ok": ok,
        "error": error,
    }
