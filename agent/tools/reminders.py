"""The `schedule_reminder` tool: the reply model schedules a reminder for the member who asked, in
their time zone. Only ever for that member, in the place they asked (checked here, not by the model)."""

from __future__ import annotations

from typing import Any

from agent.memory.record import Record
from agent.schedules.making import CannotPostHere, remind
from agent.schedules.store import Reminders, TooMany
from agent.schedules.when import WhenError
from agent.tools.base import Tool, ToolRun


def reminder_tools(reminders: Reminders, record: Record) -> list[Tool]:
    async def schedule_reminder(arguments: dict[str, Any], run: ToolRun) -> str:
        event = run.event
        if event.author_is_bot:
            return "refused: reminders are for members, not bots"
        try:
            # Where the member may not write (a /chat in a read-only channel), or it is not known: by DM.
            row, zone = await remind(
                reminders, record, event, str(arguments["when"]), str(arguments["what"]), unable="dm"
            )
        except (WhenError, TooMany, CannotPostHere) as exc:
            return f"not scheduled: {exc}"
        assert row.due_at is not None
        local = row.due_at.astimezone(zone)
        where = "by direct message (private, or they can't write here)" if row.private else "here, with a mention"
        return (
            f"scheduled reminder #{row.id} for {event.author_name}: {local:%A %d %B %Y, %H:%M} ({zone.key}), "
            f"'{row.text}', delivered {where}. Tell them when, in their language; they can see or cancel it "
            "with /schedule list and /schedule cancel."
        )

    return [
        Tool(
            name="schedule_reminder",
            description=(
                "Schedule a reminder for the member who is asking (only for them, posted here with a mention). "
                "`when`: the time as they said it, in their words and language (e.g. 'in 2 hours', "
                "'tomorrow at 9:00', '明日の朝9時', 'amanhã às 9h', 'завтра в 9'); their time zone is applied. "
                "`what`: what to remind them of, short."
            ),
            parameters={
                "type": "object",
                "properties": {
                    "when": {"type": "string", "minLength": 1, "maxLength": 200},
                    "what": {"type": "string", "minLength": 1, "maxLength": 1000},
                },
                "required": ["when", "what"],
            },
            invoke=schedule_reminder,
            status=lambda _a: "⏰ scheduling…",
        )
    ]
