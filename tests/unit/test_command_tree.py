"""The slash commands Discord is given: every command's payload (`to_dict`) and in-code checks, as they
were before the command families became `app_commands.Group` classes (tests/data/command_tree.json).

Regenerate only on purpose: `OBSERVER_WRITE_COMMAND_TREE=1 .venv/bin/python -m pytest tests/unit/test_command_tree.py`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest.mock import MagicMock

import discord
from discord import app_commands

from discord_adapter.commands import register_all

SNAPSHOT = Path(__file__).parents[1] / "data" / "command_tree.json"


def _checks(command: app_commands.Command[Any, ..., Any] | app_commands.Group, out: dict[str, list[str]]) -> None:
    if isinstance(command, app_commands.Group):
        for child in command.commands:
            _checks(child, out)
    else:
        out[command.qualified_name] = [check.__qualname__ for check in command.checks]


def dump() -> dict[str, Any]:
    client = discord.Client(intents=discord.Intents.none())
    tree = app_commands.CommandTree(client)
    # Registration reads only these parts of the host; the commands' bodies are not run here.
    host = SimpleNamespace(
        tree=tree, services=MagicMock(), replier=MagicMock(), queues=MagicMock(), translate=MagicMock()
    )
    register_all(host)  # type: ignore[arg-type]
    commands = sorted(tree.get_commands(), key=lambda c: c.name)
    checks: dict[str, list[str]] = {}
    for command in commands:
        if isinstance(command, app_commands.Command | app_commands.Group):
            _checks(command, checks)
    return {
        "commands": [command.to_dict(tree) for command in commands],
        "checks": checks,
        "error_handler": tree.on_error.__name__,
    }


def test_the_synced_command_tree_is_unchanged() -> None:
    now = json.loads(json.dumps(dump()))
    if os.environ.get("OBSERVER_WRITE_COMMAND_TREE"):
        SNAPSHOT.write_text(json.dumps(now, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    assert now == json.loads(SNAPSHOT.read_text())
