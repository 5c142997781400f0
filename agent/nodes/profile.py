"""The profile graph's nodes: read a member's recent messages, describe them, save the profile."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from langgraph.runtime import Runtime
from pydantic import BaseModel, Field
from typing_extensions import TypedDict  # pydantic (Studio's schema) needs it on Python < 3.12

from agent.ids import stable_id
from agent.memory.record import Record
from agent.models.registry import ModelRegistry
from agent.models.router import Router
from agent.models.structured import structured_call
from agent.models.tokens import shorten_middle
from agent.prompts import PromptLibrary
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


@dataclass
class ReadMessages:
    """A member's recent messages."""

    record: Record

    async def __call__(self, state: ProfileState, runtime: Runtime[Context]) -> dict[str, Any]:
        user_id = state.get("user_id") or stable_id("user", state.get("member") or "studio")
        guild_id = state.get("guild_id") if "guild_id" in state else stable_id("guild", "console")
        messages = await self.record.member_messages(user_id, guild_id, PROFILE_MESSAGES)
        return {
            "user_id": user_id,
            "guild_id": guild_id,
            "member": state.get("member") or str(user_id),
            "messages": messages,
        }


@dataclass
class Analyze:
    """Describes the member in a structured profile."""

    record: Record
    registry: ModelRegistry
    router: Router
    prompts: PromptLibrary

    async def __call__(self, state: ProfileState, runtime: Runtime[Context]) -> dict[str, Any]:
        messages = state.get("messages") or []
        if not messages:
            return {"error": "no messages from this member yet"}
        registry = self.registry
        prompt = await self.prompts.arender(
            "profile",
            state.get("guild_id"),
            bot_name=context_of(runtime).bot_name,
            member=state.get("member", "the member"),
            messages="\n".join(f"- {shorten_middle(m, 120)}" for m in messages),
        )
        result = await structured_call(
            registry,
            self.router.cooldowns,
            self.record,
            ProfileOutput,
            prompt,
            preferred=registry.judge_model,
            candidates=await self.router.available(),
            purpose="profile",
            event=None,
        )
        if result.output is None:
            log.warning("profile for %s not written: %s", state.get("member"), result.error)
            return {"error": result.error}
        out = result.output
        text = (
            f"Writes in a {out.tone} tone; interested in {out.interests}; writes in {out.language}; "
            f"likes answers that are {out.answer_style}."
        )
        return {"profile": text, "language": out.language, "temperature": round(out.temperature, 2)}


@dataclass
class SaveProfile:
    """Saves the profile."""

    record: Record

    async def __call__(self, state: ProfileState, runtime: Runtime[Context]) -> dict[str, Any]:
        if not state.get("profile"):
            return {}
        await self.record.save_profile(
            state["user_id"],
            state.get("guild_id"),
            profile=state["profile"],
            language=state.get("language", ""),
            temperature=state.get("temperature"),
            seen=len(state.get("messages") or []),
        )
        return {}
