"""Tools and MCP servers in words, for people: the console, `/health`, `observer tools list`."""

from __future__ import annotations

from typing import Any

from agent.events import Event
from agent.models.registry import ModelRegistry
from agent.tools.base import Tool
from agent.tools.mcp import McpHub
from agent.tools.policy import allowed_here
from agent.tools.toolbox import Toolbox


def server_lines(hub: McpHub) -> list[str]:
    lines = []
    for s in hub.status():
        if s["state"] == "connected":
            lines.append(
                f"MCP {s['name']} ({s['transport']}): connected, {len(s['tools'])} tools: {', '.join(s['tools'])}"
            )
        else:
            lines.append(f"MCP {s['name']} ({s['transport']}): {s['state']}{' — ' + s['error'] if s['error'] else ''}")
    return lines


def tools_here_line(toolbox: Toolbox, registry: ModelRegistry, event: Event) -> str:
    """What `/observer status` says about tools for the member asking, in this channel."""
    takers = [n for n in registry.names if registry.spec(n).tools]
    if not takers:
        return "tools: none (no model has `tools = true`)"
    names = [t.name for t in toolbox.for_event(event)]
    return f"tools for you here: {', '.join(names) or 'none'} (models that use them: {', '.join(takers)})"


def tool_line(tool: Tool, event: Event | None = None) -> str:
    rules = [r for r, on in (("confirm", tool.confirm), ("admin only", tool.admin_only)) if on]
    if tool.guilds is not None:
        rules.append(f"servers {', '.join(str(g) for g in sorted(tool.guilds))}")
    where = "" if event is None or allowed_here(tool, event) else "  [not offered here]"
    summary = tool.description.strip().splitlines()[0] if tool.description.strip() else ""
    return f"{tool.name:20} {tool.source:14} {'; '.join(rules) or '-':22} {summary[:70]}{where}"


def call_line(entry: dict[str, Any]) -> str:
    """One tool call of a run, as `--verbose` shows it."""
    args = ", ".join(f"{k}={v!r}" for k, v in (entry.get("arguments") or {}).items())
    result = " ".join(str(entry.get("result", "")).split())
    return (
        f"  tool {entry['tool']}({args}) [{entry['source']}] {entry['outcome']} in {entry['ms']:.0f} ms: {result[:100]}"
    )
