"""`observer replay` when a line's run raises (a database or server gone mid-transcript): that line
shows one error and the transcript goes on."""

from __future__ import annotations

import errno
import io
from types import SimpleNamespace
from typing import Any

from agent.events import Decision
from command_line.replay import TranscriptLine, _run, print_diff


class GraphWithAFault:
    """Answers every line but the second, whose run raises as a dropped connection does."""

    def __init__(self) -> None:
        self.runs = 0

    async def ainvoke(self, state: dict[str, Any], context: Any) -> dict[str, Any]:
        self.runs += 1
        if self.runs == 2:
            raise ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed ('127.0.0.1', 8000)")
        return {"event": state["event"], "decision": Decision(respond=True, reason="asked"), "reply": "ok"}


async def test_a_line_that_raises_is_one_error_and_later_lines_still_run() -> None:
    services: Any = SimpleNamespace(settings=SimpleNamespace(bot_name="Observer"), bot_user_id=1)
    graph = GraphWithAFault()
    lines = [TranscriptLine(author=name, text=f"@Observer {name} asks") for name in ("alice", "bob", "carol")]
    outcomes = await _run(services, graph, lines, "replay", "mentions")
    assert graph.runs == 3
    assert [o.reply for o in outcomes] == ["ok", "", "ok"]
    failed = outcomes[1]
    assert failed.line == 2 and failed.verdict == "run failed" and failed.error is not None
    assert failed.error.startswith("a service it needs is unreachable")
    assert "send it again" not in failed.error, "a replay's record is thrown away"


async def test_a_diff_shows_a_failed_line_with_why() -> None:
    """Found by a reviewer: `--diff` showed a failure as a changed decision with no cause, and hid one
    that failed in both runs."""
    services: Any = SimpleNamespace(settings=SimpleNamespace(bot_name="Observer"), bot_user_id=1)
    lines = [TranscriptLine(author=name, text=f"@Observer {name} asks") for name in ("alice", "bob", "carol")]
    old = await _run(services, GraphWithAFault(), lines, "replay", "mentions")
    new = await _run(services, GraphWithAFault(), lines, "replay", "mentions")
    out = io.StringIO()
    assert print_diff(old, new, out) == 0  # failed both times: no change in decision
    text = out.getvalue()
    assert "[2] bob: @Observer bob asks" in text
    assert text.count("run failed (a service it needs is unreachable") == 2, text
    assert "[1]" not in text and "[3]" not in text
