"""Approve / Deny buttons for a tool call that changes something (issue H).

The run is checkpointed and paused (LangGraph `interrupt`); the buttons carry only the member's message
id and the call id, so they work across restarts: a press looks the pending request up in the
checkpoint, checks the presser in code (the asking member, or Manage Server where the tool allows it),
and resumes the run. No answer within the request's timeout denies it."""

from __future__ import annotations

import hashlib

import discord

from agent.rights import MemberRights
from agent.safety import defuse_mentions
from agent.verdicts import ApprovalRequest

PREFIX = "observer:approval"


def call_key(call_id: str) -> str:
    """Custom ids hold at most 100 characters; a call id may be longer."""
    return call_id if len(call_id) <= 40 else hashlib.sha1(call_id.encode()).hexdigest()[:40]


def custom_id(message_id: int, call_id: str, approve: bool) -> str:
    return f"{PREFIX}:{message_id}:{call_key(call_id)}:{'yes' if approve else 'no'}"


def parse_custom_id(value: str) -> tuple[int, str, bool] | None:
    parts = value.split(":")
    if len(parts) != 5 or ":".join(parts[:2]) != PREFIX or not parts[2].isdigit() or parts[4] not in ("yes", "no"):
        return None
    return int(parts[2]), parts[3], parts[4] == "yes"


def buttons(message_id: int, call_id: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(
        discord.ui.Button(
            label="Approve", style=discord.ButtonStyle.success, custom_id=custom_id(message_id, call_id, True)
        )
    )
    view.add_item(
        discord.ui.Button(
            label="Deny", style=discord.ButtonStyle.danger, custom_id=custom_id(message_id, call_id, False)
        )
    )
    return view


def who_may_answer(request: ApprovalRequest) -> str:
    asker = request.asker or "the asking member"
    return f"{asker} or a member with Manage Server" if request.admins_may_approve else asker


def describe_call(request: ApprovalRequest) -> str:
    args = ", ".join(f"{k}={v!r}" for k, v in (request.arguments or {}).items())
    if len(args) > 300:
        args = args[:300] + "…"
    return defuse_mentions(f"`{request.tool}`({args})")


def prompt(request: ApprovalRequest) -> str:
    minutes = max(round(float(request.timeout_s or 0) / 60), 1)
    return (
        f"🔐 May I run {describe_call(request)} (from {request.source})? "
        f"Only {defuse_mentions(who_may_answer(request))} can answer; no answer in {minutes} min denies it."
    )


def may_answer(request: ApprovalRequest, user_id: int, rights: MemberRights) -> bool:
    """Checked in code on every press, from the presser's rights; what any message or tool result said
    changes nothing here."""
    if user_id == request.asker_id:
        return True
    return bool(request.admins_may_approve) and rights.can_manage


def decided(request: ApprovalRequest, approved: bool, by: str) -> str:
    verb = "✅ Approved" if approved else "❌ Denied"
    return f"{verb} by {defuse_mentions(by)}: {describe_call(request)}"
