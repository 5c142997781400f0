"""approve: a tool call that changes something waits here for a member's verdict (LangGraph `interrupt`).

One call per pass, so each interrupt is the first of its node run: a restarted door that resumes the
checkpointed run without a verdict gets the same question again, never a stale answer. The door asks
(buttons on Discord, a prompt in the console), checks who answered against the request's rules, and
resumes with `Command(resume={"approved": bool, "by": name, "reason": str})`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage
from langgraph.runtime import Runtime
from langgraph.types import interrupt

from agent.state import Context, State, context_of
from agent.tools.toolbox import Toolbox
from agent.verdicts import ApprovalRequest, Verdict, approval, denial


def pending_approval(state: State, toolbox: Toolbox) -> ApprovalRequest | None:
    """The first call of the last tool turn that needs a verdict and has none (invalid calls never run)."""
    turns = state.get("tool_turns") or []
    if not turns or not isinstance(turns[-1], AIMessage):
        return None
    event = state["event"]
    decided = state.get("approvals") or {}
    for call in turns[-1].tool_calls:
        tool, arguments, refused = toolbox.check(call["name"], call["args"], event)
        if tool is None or not tool.confirm or refused is not None or (call["id"] or "") in decided:
            continue
        return ApprovalRequest(
            call_id=call["id"] or "",
            tool=tool.name,
            source=tool.source,
            arguments=arguments,
            asker_id=event.author_id,
            asker=event.author_name,
            admins_may_approve=tool.admins_approve,
            timeout_s=0.0,
        )
    return None


def verdict_of(answer: Any) -> Verdict:
    """A door's resume value, made safe: anything but an explicit approval is a denial."""
    if not isinstance(answer, dict):
        return denial("no valid answer")
    by = str(answer.get("by") or "")
    if answer.get("approved") is True:
        return approval(by)
    return denial(str(answer.get("reason") or f"{by or 'the member'} denied it"), by)


@dataclass
class Approve:
    toolbox: Toolbox
    timeout_s: float

    async def __call__(self, state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        approvals = dict(state.get("approvals") or {})
        request = pending_approval(state, self.toolbox)
        if request is None:
            return {}
        if not context_of(runtime).can_approve:
            # A door that cannot ask (Studio, a script): every such call is refused, with the reason.
            while request is not None:
                approvals[request.call_id] = denial(NO_APPROVAL.format(tool=request.tool))
                request = pending_approval({**state, "approvals": approvals}, self.toolbox)
            return {"approvals": approvals}
        request.timeout_s = self.timeout_s
        answer = interrupt(request.as_dict())
        approvals[request.call_id] = verdict_of(answer)
        return {"approvals": approvals}


NO_APPROVAL = "{tool} changes something and needs a member's approval, which cannot be asked for here"
