"""Approve / Deny buttons for a tool call that changes something (issue H).

The run is checkpointed and paused (LangGraph `interrupt`); the buttons carry only the member's message
id and the call id, so they work across restarts: a press looks the pending request up in the
checkpoint, checks the presser in code (the asking member, or Manage Server where the tool allows it),
and resumes the run. No answer within the request's timeout denies it.

The buttons are a `discord.ui.DynamicItem` (`ApprovalButton`), registered on the client: discord.py
matches a press's custom id against its template, whatever message it is on and whichever process
posted it, and the item hands the press to the client's approval desk (`ApprovalDesk.on_press`)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Protocol

import discord

from agent.rights import MemberRights
from agent.safety import defuse_mentions
from agent.verdicts import ApprovalRequest
from discord_adapter import event_guard

PREFIX = "observer:approval"
# A button's custom id, the same string since the first buttons were posted:
# observer:approval:<the member's message id>:<call key>:yes|no
TEMPLATE = re.compile(re.escape(PREFIX) + r":(?P<message_id>[0-9]+):(?P<key>[^:]*):(?P<verdict>yes|no)")


def call_key(call_id: str) -> str:
    """Custom ids hold at most 100 characters; a call id may be longer (or hold the template's `:`)."""
    return call_id if len(call_id) <= 40 and ":" not in call_id else hashlib.sha1(call_id.encode()).hexdigest()[:40]


@dataclass(frozen=True)
class Press:
    """A press of an approval button: whose paused run (the member's message), which call, which verdict."""

    message_id: int
    key: str  # call_key of the call id
    approve: bool

    @property
    def custom_id(self) -> str:
        return f"{PREFIX}:{self.message_id}:{self.key}:{'yes' if self.approve else 'no'}"


class PressTaker(Protocol):
    async def on_press(self, interaction: discord.Interaction, press: Press, /) -> None: ...


class ApprovalButton(discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=TEMPLATE):
    """Approve or Deny; registered with `client.add_dynamic_items`, so old messages' buttons work after a
    restart. A press goes to the client's approval desk (its `approvals`)."""

    def __init__(self, press: Press) -> None:
        super().__init__(
            discord.ui.Button(
                label="Approve" if press.approve else "Deny",
                style=discord.ButtonStyle.success if press.approve else discord.ButtonStyle.danger,
                custom_id=press.custom_id,
            )
        )
        self.press = press

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[discord.ui.View], match: re.Match[str], /
    ) -> ApprovalButton:
        return cls(Press(int(match["message_id"]), match["key"], match["verdict"] == "yes"))

    async def callback(self, interaction: discord.Interaction) -> None:
        desk: PressTaker | None = getattr(interaction.client, "approvals", None)
        if desk is None:
            return  # a client without an approval desk posted no approval buttons
        try:
            await desk.on_press(interaction, self.press)
        except Exception:
            # As an event handler's failure: logged without the exception's text (event_guard.py).
            await event_guard.handler_failed(interaction.client, "approval button")


def buttons(message_id: int, call_id: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    key = call_key(call_id)
    view.add_item(ApprovalButton(Press(message_id, key, approve=True)))
    view.add_item(ApprovalButton(Press(message_id, key, approve=False)))
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
