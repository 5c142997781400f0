"""The SQL record of what was said and what answering it cost, split by what it stores.

`Record` is the one object a process shares; each part lives in its own module."""

from __future__ import annotations

from agent.memory.record.channels import CHANNEL_MODES, ChannelSettings
from agent.memory.record.edits import MessageEdits
from agent.memory.record.guilds import GuildSettingsStore
from agent.memory.record.members import MemberData
from agent.memory.record.notes import RunNotes
from agent.memory.record.reads import MessageReads
from agent.memory.record.tool_log import ToolLog
from agent.memory.record.usage import UsageLog
from agent.memory.record.writes import RecordCore

__all__ = ["CHANNEL_MODES", "Record"]


class Record(
    MessageReads,
    MessageEdits,
    ChannelSettings,
    GuildSettingsStore,
    UsageLog,
    ToolLog,
    MemberData,
    RunNotes,
    RecordCore,
):
    """The SQL record. One per process; safe to share between concurrent runs."""
