"""The built-in tools: search the record, recall memory, tell the time, show a member's own usage.

None reads files, runs commands or fetches URLs. Each sees only what the asking member may see: the
record search is limited to channels the door says the member can read, in this server only (in a DM,
that DM only)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agent.memory.knowledge import MemoryStore
from agent.memory.recall import recall
from agent.memory.record import Record
from agent.memory.scopes import readable_scopes
from agent.models.tokens import shorten_middle
from agent.tools.base import Tool, ToolRun

SEARCH_LIMIT = 12
MAX_DAYS = 90


def _current_time(arguments: dict[str, Any], _run: ToolRun) -> str:
    name = arguments.get("timezone") or "UTC"
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone {name!r}; use an IANA name such as Asia/Tokyo, Europe/Moscow or America/Sao_Paulo"
    now = datetime.now(zone)
    return f"{now:%Y-%m-%d %H:%M} ({now:%A}) in {name}, UTC{now:%z}"


def builtin_tools(record: Record, memory: MemoryStore) -> list[Tool]:
    async def current_time(arguments: dict[str, Any], run: ToolRun) -> str:
        return _current_time(arguments, run)

    async def search_messages(arguments: dict[str, Any], run: ToolRun) -> str:
        event = run.event
        days = min(int(arguments.get("days") or 7), MAX_DAYS)
        if event.is_dm or event.guild_id is None:
            channels: list[int] | None = [event.channel_id]  # someone's DMs are theirs alone
        else:
            channels = event.rights.readable_channels(event.channel_id)  # None: the door's operator
        words = str(arguments.get("query") or "").split()
        rows = await record.search_messages(
            channels,
            event.guild_id,
            words,
            author=arguments.get("author"),
            channel=arguments.get("channel"),
            since=datetime.now(UTC) - timedelta(days=days),
            before_id=event.message_id,
            limit=SEARCH_LIMIT,
        )
        if not rows:
            where = f" in #{arguments['channel'].lstrip('#')}" if arguments.get("channel") else ""
            return f"no messages found{where} in the last {days} days"
        lines = [
            f"[{row['created_at']:%Y-%m-%d %H:%M} UTC] #{row['channel']} {row['author']}: "
            f"{shorten_middle(row['content'] or '', 300)}"
            for row in reversed(rows)
        ]
        return "\n".join(lines)

    async def recall_memory(arguments: dict[str, Any], run: ToolRun) -> str:
        event = run.event
        query = str(arguments.get("query") or "").strip()
        if not query:
            return "say what to recall"
        recalled = await asyncio.to_thread(
            recall,
            memory,
            query=query,
            recent_text=query,
            scopes=readable_scopes(event.guild_id, event.author_id),
            persona=run.persona,
            budget_tokens=600,
        )
        if not recalled.snippets:
            return "nothing in memory about that"
        return "\n".join(f"- ({s.kind}, {s.source}) {s.text}" for s in recalled.snippets)

    async def my_usage(_arguments: dict[str, Any], run: ToolRun) -> str:
        event = run.event
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        day = await record.member_usage(event.author_id, event.guild_id, today)
        week = await record.member_usage(event.author_id, event.guild_id, today - timedelta(days=6))
        return (
            f"{event.author_name} today (UTC): {day['replies']} replies, {day['tokens']} tokens, "
            f"${day['cost_usd']:.4f}; last 7 days: {week['replies']} replies, {week['tokens']} tokens, "
            f"${week['cost_usd']:.4f}"
        )

    return [
        Tool(
            name="search_messages",
            description=(
                "Search what was said in this server's channels the asking member can read: messages containing "
                "every word of `query`, optionally by `author` (name), in `channel` (name), within `days` (default 7)."
            ),
            parameters={
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "words the message contains"},
                    "author": {"type": "string", "description": "who wrote it (name)"},
                    "channel": {"type": "string", "description": "channel name, e.g. raids"},
                    "days": {"type": "integer", "minimum": 1, "maximum": MAX_DAYS},
                },
                "required": ["query"],
            },
            invoke=search_messages,
            status=lambda a: f"🔎 searching #{a['channel'].lstrip('#')}…" if a.get("channel") else "🔎 searching…",
        ),
        Tool(
            name="recall_memory",
            description="Recall what you know from your lore and knowledge memory about `query`.",
            parameters={
                "type": "object",
                "properties": {"query": {"type": "string"}},
                "required": ["query"],
            },
            invoke=recall_memory,
            status=lambda _a: "📚 remembering…",
        ),
        Tool(
            name="current_time",
            description="The current date and time in a time zone (IANA name, e.g. Asia/Tokyo; default UTC).",
            parameters={"type": "object", "properties": {"timezone": {"type": "string"}}},
            invoke=current_time,
            status=lambda _a: "🕒 checking the time…",
        ),
        Tool(
            name="my_usage",
            description="How much the asking member has used the bot: replies, tokens and cost today and this week.",
            parameters={"type": "object", "properties": {}},
            invoke=my_usage,
            status=lambda _a: "📊 counting…",
        ),
    ]
