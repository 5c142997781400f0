"""A real MCP server for the tool tests, and how a test's config starts it."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def tide_server_toml(alarms: Path, **rules: Any) -> str:
    """`[[mcp_servers]]` for the stdio tide server; its side-effect tools write to `alarms` (passed in its env)."""
    lines = [
        "[[mcp_servers]]",
        'name = "tides"',
        f"command = {json.dumps(sys.executable)}",
        'args = ["-m", "tests.mcp.tide_server"]',
        f"cwd = {json.dumps(str(REPO))}",
        f"env = {{ TIDE_ALARMS = {json.dumps(str(alarms))} }}",
    ]
    lines += [f"{key} = {json.dumps(value)}" for key, value in rules.items()]
    return "\n".join(lines) + "\n"
