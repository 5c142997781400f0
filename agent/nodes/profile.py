"""The profile graph's nodes: read a member's recent messages, describe them, save the profile."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, TypedDict

from langchain_core.messages import HumanMessage
from langgraph.runtime import Runtime
from pydantic import BaseModel, Field

from agent.ids import stable_id
from agent.models.failures import describe_failure
from agent.models.tokens import approx_tokens, shorten_middle
from agent.services import get_services
from agent.state import Context, context_of

log = logging.getLogger(__name__)

PROFILE_MESSAGES = 30


class ProfileState(TypedDict, total=False):
    # Input: a member by id (and guild; none for DMs), or by console name in Studio.
    user_id: int
    guild_id: int | None
    member: str
    messages: list[str]
    profile: str
    language: str
    temperature: float | None
    error: str


class ProfileOutput(BaseModel):
    tone: str = Field(max_length=120)
    interests: str = Field(max_length=200)
    language: str = Field(max_length=32)
    answer_style: str = Field(max_length=160)
    temperature: float = Field(ge=0.0, le=1.5)


async def read_messages(state: ProfileState, runtime: Runtime[Context]) -> dict[str, Any]:
    services = await get_services()
    user_id = state.get("user_id") or stable_id("user", state.get("member") or "studio")
    guild_id = state.get("guild_id") if "guild_id" in state else stable_id("guild", "console")
    messages = await services.record.member_messages(user_id, guild_id, PROFILE_MESSAGES)
    return {
        "user_id": user_id,
        "guild_id": guild_id,
        "member": state.get("member") or str(user_id),
        "messages": messages,
    }


async def analyze(state: ProfileState, runtime: Runtime[Context]) -> dict[str, Any]:
    messages = state.get("messages") or []
    if not messages:
        return {"error": "no messages from this member yet"}
    services = await get_services()
    available = await services.router.available()
    registry = services.registry
    name = registry.judge_model if registry.judge_model in available else next(iter(available), None)
    if name is None:
        return {"error": "no model can write the profile now (all cooling down)"}
    prompt = await services.prompts.arender(
        "profile",
        state.get("guild_id"),
        bot_name=context_of(runtime).bot_name,
        member=state.get("member", "the member"),
        messages="\n".join(f"- {shorten_middle(m, 120)}" for m in messages),
    )
    spec = registry.spec(name)
    try:
        runnable = registry.chat_model(name).with_structured_output(ProfileOutput, method=spec.structured_output)
        out = await asyncio.wait_for(runnable.ainvoke([HumanMessage(prompt)]), timeout=spec.timeout_s)
        if not isinstance(out, ProfileOutput):
            out = ProfileOutput.model_validate(out)
    except Exception as exc:
        error = describe_failure(exc)
        log.warning("profile for %s not written: %s", state.get("member"), error)
        return {"error": error}
    services.record.queue_usage(
        None,
        purpose="profile",
        model=name,
        tokens_in=approx_tokens(prompt),
        tokens_out=60,
        cost_usd=spec.cost(approx_tokens(prompt), 60),
        latency_ms=0.0,
    )
    text = (
        f"Writes in a {out.tone} tone; interested in {out.interests}; writes in {out.language}; "
        f"likes answers that are {out.answer_style}."
    )
    return {"profile": text, "language": out.language, "temperature": round(out.temperature, 2)}


async def save_profile(state: ProfileState, runtime: Runtime[Context]) -> dict[str, Any]:
    if not state.get("profile"):
        return {}
    services = await get_services()
    await services.record.save_profile(
        state["user_id"],
        state.get("guild_id"),
        profile=state["profile"],
        language=state.get("language", ""),
        temperature=state.get("temperature"),
        seen=len(state.get("messages") or []),
    )
    return {}
