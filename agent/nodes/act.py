"""act: run the tools the model asked for, side by side, and hand their results back to generate.

Every call is checked by code first (is it offered here, may this member use it, are the arguments
valid); a tool that changes something waits for a member's approval where the door can ask for one.
Failures and timeouts become a line the model reads, never a lost reply."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, ToolMessage
from langgraph.runtime import Runtime

from agent.memory.record import Record
from agent.state import Context, State
from agent.stream import Notice
from agent.tools.base import ToolRun
from agent.tools.toolbox import Toolbox, ToolOutcome
from agent.verdicts import denial


@dataclass
class Act:
    toolbox: Toolbox
    record: Record

    async def __call__(self, state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        started = time.perf_counter()
        event = state["event"]
        turns = list(state.get("tool_turns") or [])
        asked = turns[-1]
        assert isinstance(asked, AIMessage)
        run = ToolRun(event=event, persona=state.get("persona") or "default")
        calls: list[tuple[str, str, Any]] = [(c["id"] or "", c["name"], c["args"]) for c in asked.tool_calls]
        calls += [(c["id"] or "", c["name"] or "", c["args"]) for c in asked.invalid_tool_calls]
        approvals: dict[str, Any] = state.get("approvals") or {}

        first = self.toolbox.find(calls[0][1]) if calls else None
        if first is not None:
            tool_args = asked.tool_calls[0]["args"] if asked.tool_calls else {}
            runtime.stream_writer(Notice(text=first.status_line(tool_args)))

        async def one(call_id: str, name: str, raw: Any) -> ToolOutcome:
            tool = self.toolbox.find(name)
            denied = None
            if tool is not None and tool.confirm:
                verdict = approvals.get(call_id) or denial("it was never approved")
                if not verdict.get("approved"):
                    denied = f"not run: {verdict.get('reason') or 'the member did not approve it'}"
            return await self.toolbox.call(name, raw, run, denied=denied)

        outcomes = await asyncio.gather(*(one(*call) for call in calls))
        results = [
            ToolMessage(
                content=o.result, tool_call_id=call_id, name=o.tool, status="success" if o.outcome == "ok" else "error"
            )
            for (call_id, _, _), o in zip(calls, outcomes, strict=True)
        ]
        rows = [o.as_row() for o in outcomes]
        self.record.queue_tool_calls(event, rows)
        timings = {"act_ms": (time.perf_counter() - started) * 1000}
        return {
            "tool_turns": results,
            "tool_log": [*(state.get("tool_log") or []), *rows],
            "acting": False,
            "timings": timings,
        }
