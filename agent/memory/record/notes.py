"""What a run decided about a member's message (the judge's decision, the model and why, time to first
token), kept in the record so another process (the dashboard) can show it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from agent.memory import tables
from agent.memory.record.writes import RecordCore

# A judge's reason is capped at 120 characters; a route note or error may run longer.
NOTE_TEXT_CHARS = 300


class NoteSink(Protocol):
    """Where a node hands a note: the record, or a fake in a node's unit test."""

    def queue_note(self, message_id: int, kind: str, data: dict[str, Any]) -> None: ...


class RunNotes(RecordCore):
    """Notes written behind, in the next group commit, like usage rows (a note never delays a reply)."""

    def queue_note(self, message_id: int, kind: str, data: dict[str, Any]) -> None:
        """Queue one note: `kind` "decision" or "reply"; `data` JSON-able, strings capped."""
        values = {k: v[:NOTE_TEXT_CHARS] if isinstance(v, str) else v for k, v in data.items()}
        row = {"message_id": message_id, "created_at": datetime.now(UTC), "kind": kind, "data": values}
        self._pending_rows.append((tables.message_notes, row))
        self._start_writer()
