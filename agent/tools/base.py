"""A tool as the agent sees it: a name, a JSON schema, where it comes from, and who may use it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from agent.events import Event


@dataclass(frozen=True)
class ToolRun:
    """What a tool call knows about the run it serves: the member's message and the persona speaking."""

    event: Event
    persona: str = "default"


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]  # JSON schema of the arguments (an object)
    invoke: Callable[[dict[str, Any], ToolRun], Awaitable[str]]
    source: str = "built-in"  # or mcp:<server>
    # What a member sees while it runs ("🔎 searching #raids…"), from the arguments.
    status: Callable[[dict[str, Any]], str] | None = None
    confirm: bool = False  # changes something: a member must approve each call
    admins_approve: bool = False  # besides the asking member, members with Manage Server may approve
    admin_only: bool = False  # only members with Manage Server (checked by code, never by the model)
    guilds: frozenset[int] | None = None  # only these servers; None: everywhere
    extra: dict[str, Any] = field(default_factory=dict)

    def openai_schema(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }

    def status_line(self, arguments: dict[str, Any]) -> str:
        if self.status is not None:
            try:
                return self.status(arguments)
            except Exception:  # a status is decoration; a bad argument is reported by the call itself
                pass
        return f"🔧 {self.name}…"
