"""One line for the operator when a console or replay run raises instead of answering."""

from __future__ import annotations

from agent.memory.faults import dependency_down, fault_summary
from agent.redact import redact


def failed_run(exc: Exception, *, recorded: bool = True) -> str:
    """Why a run raised, in one line for the operator (redacted; no message text). `recorded`: the
    message was kept (the console's record), so it can be sent again; a replay's record is thrown away."""
    if dependency_down(exc):
        unreachable = f"a service it needs is unreachable ({redact(fault_summary(exc))})"
        if not recorded:
            return unreachable
        return f"{unreachable}; your message is in the record: send it again once the service is back"
    first = (str(exc).splitlines() or [""])[0][:200]
    return f"the run failed ({type(exc).__name__}{': ' + redact(first) if first else ''})"
