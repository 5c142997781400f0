"""A member's verdict on a tool call that waits for approval: what a door resumes the run with
(`Command(resume=verdict)`), and what the run keeps per call in `State["approvals"]`.

A plain dict on the wire (checkpoints store it as it is); typed here so every door writes the same
three keys. Anything but an explicit approval is a denial (`agent.nodes.approve.verdict_of`)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from typing_extensions import TypedDict  # pydantic (Studio's schema of State) needs it on Python < 3.12


class Verdict(TypedDict):
    approved: bool
    by: str  # who answered, as the door names them ("" when nobody did: a timeout, no door to ask)
    reason: str  # why it was denied, in words a member reads ("" when approved)


def approval(by: str) -> Verdict:
    return {"approved": True, "by": by, "reason": ""}


def denial(reason: str, by: str = "") -> Verdict:
    return {"approved": False, "by": by, "reason": reason}


@dataclass
class ApprovalRequest:
    """What the door shows and checks: which call, for whom, who may approve it, for how long. The run's
    interrupt carries it as a dict (`as_dict`, what a checkpoint keeps); doors read it typed (`of`)."""

    call_id: str
    tool: str
    source: str
    arguments: dict[str, Any]
    asker_id: int
    asker: str
    admins_may_approve: bool
    timeout_s: float

    def as_dict(self) -> dict[str, Any]:
        return {"kind": "approval", **self.__dict__}

    @classmethod
    def of(cls, value: Any) -> ApprovalRequest | None:
        """The request in an interrupt's value (a dict with kind "approval"), or None if it is not one."""
        if isinstance(value, ApprovalRequest):
            return value
        if not isinstance(value, dict) or value.get("kind") != "approval":
            return None
        return cls(**{f.name: value[f.name] for f in fields(cls) if f.name in value})
