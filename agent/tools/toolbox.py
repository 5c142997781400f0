"""Every tool the bot has (built-in and MCP), what it offers a given member, and running one call safely:
arguments checked, permissions checked, bounded in time, failures turned into a line the model can use."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from agent.events import Event
from agent.models.tokens import shorten_middle
from agent.redact import redact
from agent.tools.base import Tool, ToolRun
from agent.tools.mcp import McpHub, ToolFailed
from agent.tools.policy import offered, parse_arguments, refusal

log = logging.getLogger(__name__)

BUILTIN_TIMEOUT_S = 30.0


@dataclass
class ToolOutcome:
    tool: str
    source: str
    arguments: dict[str, Any]
    outcome: str  # ok | failed | refused | denied | timed out
    result: str  # what the model reads
    ms: float = 0.0

    def as_row(self) -> dict[str, Any]:
        return {
            "tool": self.tool,
            "source": self.source,
            "arguments": self.arguments,
            "outcome": self.outcome,
            "result": self.result,
            "ms": round(self.ms, 1),
        }


class Toolbox:
    def __init__(self, builtins: list[Tool], hub: McpHub | None = None, *, result_tokens: int = 1000) -> None:
        self.builtins = builtins
        self.hub = hub or McpHub([])
        self.result_tokens = result_tokens

    def all_tools(self) -> list[Tool]:
        return [*self.builtins, *self.hub.tools({t.name for t in self.builtins})]

    def for_event(self, event: Event) -> list[Tool]:
        """What this member may be offered here (server lists and Manage Server applied)."""
        return offered(self.all_tools(), event)

    def find(self, name: str) -> Tool | None:
        return next((t for t in self.all_tools() if t.name == name), None)

    def check(
        self, name: str, raw: str | dict[str, Any] | None, event: Event
    ) -> tuple[Tool | None, dict[str, Any], str | None]:
        """(tool, parsed arguments, why it may not run or None)."""
        tool = self.find(name)
        try:
            arguments = parse_arguments(raw)
        except ValueError as exc:
            return tool, {}, f"invalid arguments for {name}: {exc}"
        return tool, arguments, refusal(tool, name, arguments, event)

    async def call(
        self, name: str, raw: str | dict[str, Any] | None, run: ToolRun, *, denied: str | None = None
    ) -> ToolOutcome:
        started = time.perf_counter()
        tool, arguments, refused = self.check(name, raw, run.event)
        source = tool.source if tool is not None else "unknown"
        if refused is not None or tool is None:
            log.info("tool call refused: %s", refused)
            return ToolOutcome(name, source, arguments, "refused", f"refused: {refused}")
        if denied is not None:
            return ToolOutcome(name, source, arguments, "denied", denied)
        # MCP calls carry their own server timeout; this bounds built-ins and a stuck transport alike.
        limit = BUILTIN_TIMEOUT_S if tool.source == "built-in" else float(tool.extra.get("timeout_s", 30.0)) + 5.0
        try:
            text = await asyncio.wait_for(tool.invoke(arguments, run), limit)
            outcome = "ok"
        except TimeoutError:
            text, outcome = f"{name} timed out after {limit:g} s", "timed out"
        except ToolFailed as exc:
            text, outcome = redact(str(exc)), "failed"  # the model reads it, and may repeat it
        except Exception as exc:
            log.warning("tool %s failed: %s", name, type(exc).__name__)
            text, outcome = f"{name} failed: {type(exc).__name__}", "failed"
        ms = (time.perf_counter() - started) * 1000
        budget = int(tool.extra.get("result_tokens", self.result_tokens))  # fetch_url may have its own
        return ToolOutcome(name, source, arguments, outcome, shorten_middle(text, budget), ms)
