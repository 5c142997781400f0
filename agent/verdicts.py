"""A member's verdict on a tool call that waits for approval: what a door resumes the run with
(`Command(resume=verdict)`), and what the run keeps per call in `State["approvals"]`.

A plain dict on the wire (checkpoints store it as it is); typed here so every door writes the same
three keys. Anything but an explicit approval is a denial (`agent.nodes.approve.verdict_of`)."""

from __future__ import annotations

from typing_extensions import TypedDict  # pydantic (Studio's schema of State) needs it on Python < 3.12


class Verdict(TypedDict):
    approved: bool
    by: str  # who answered, as the door names them ("" when nobody did: a timeout, no door to ask)
    reason: str  # why it was denied, in words a member reads ("" when approved)


def approval(by: str) -> Verdict:
    return {"approved": True, "by": by, "reason": ""}


def denial(reason: str, by: str = "") -> Verdict:
    return {"approved": False, "by": by, "reason": reason}
