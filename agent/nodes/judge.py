"""judge: one structured decision {respond, model, voice, reason}; never crashes the run."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Annotated, Any

from langgraph.runtime import Runtime
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, create_model

from agent.cast.choose import choose_speaker, model_for
from agent.cast.speaker import Candidate
from agent.events import ChatLine, Decision, Event
from agent.memory.record import Record
from agent.models.registry import ModelRegistry
from agent.models.router import Router
from agent.models.structured import structured_call
from agent.models.tokens import shorten_middle
from agent.prompts import PromptLibrary
from agent.rules import addresses_bot
from agent.state import Context, State, context_of
from agent.tools.toolbox import Toolbox

log = logging.getLogger(__name__)

# The judge's prompt stays bounded however long the channel is.
JUDGE_HISTORY_LINES = 12
JUDGE_LINE_TOKENS = 80
JUDGE_MESSAGE_TOKENS = 400
REASON_CHARS = 120


def judge_schema(model_names: list[str], with_act: bool = False) -> type[BaseModel]:
    """The output schema, with `model` limited to the names that can serve (always a JSON-schema enum);
    `act` only where tools could be offered."""
    names = list(model_names)
    extra: dict[str, Any] = {"act": (bool, True)} if with_act else {}

    def known(value: str) -> str:
        if value not in names:
            raise ValueError(f"{value!r} is not one of {names}")
        return value

    return create_model(
        "JudgeOutput",
        respond=(bool, ...),
        model=(
            Annotated[str, AfterValidator(known)],
            Field(description="which model writes the answer", json_schema_extra={"enum": list[Any](names)}),
        ),
        voice=(bool, False),
        **extra,
        # A small model may ramble past the limit: keep the start rather than lose the decision.
        reason=(
            Annotated[str, BeforeValidator(lambda v: v[:REASON_CHARS] if isinstance(v, str) else v)],
            Field(default="", json_schema_extra={"maxLength": REASON_CHARS}),
        ),
    )


def format_history(lines: list[ChatLine]) -> str:
    recent = lines[-JUDGE_HISTORY_LINES:]
    if not recent:
        return "(no earlier messages)"
    return "\n".join(f"{line.author}: {shorten_middle(line.text, JUDGE_LINE_TOKENS)}" for line in recent)


def tools_note(tool_names: list[str]) -> str:
    if not tool_names:
        return ""
    return (
        f'\nTools the answer may use here: {", ".join(tool_names)}. Also give "act": true when answering needs '
        "one of them (looking something up, doing something), false when it is just talk.\n"
    )


async def judge_prompt(
    prompts: PromptLibrary,
    registry: ModelRegistry,
    event: Event,
    history: list[ChatLine],
    bot_name: str,
    tool_names: list[str] | None = None,
) -> str:
    return await prompts.arender(
        "judge",
        event.guild_id,
        bot_name=bot_name,
        models=registry.menu(event.guild_id),
        history=format_history(history),
        message=shorten_middle(event.text or event.describe_attachments(), JUDGE_MESSAGE_TOKENS),
        author=event.author_name,
        channel=event.channel_name or "dm",
        tools=tools_note(tool_names or []),
    )


@dataclass
class Judge:
    """Decides whether to answer, with which model, and whether by voice."""

    record: Record
    registry: ModelRegistry
    router: Router
    prompts: PromptLibrary
    toolbox: Toolbox | None = None

    def _tools_here(self, event: Event, candidates: list[str]) -> list[str]:
        """Tools an answer could use here: none unless a candidate model takes tools."""
        if self.toolbox is None or not any(self.registry.spec(n).tools for n in candidates):
            return []
        return [t.name for t in self.toolbox.for_event(event)]

    async def _cast_turn(
        self,
        state: State,
        event: Event,
        history: list[ChatLine],
        cast: list[Candidate],
        update: dict[str, Any],
        started: float,
    ) -> dict[str, Any]:
        """A channel with a cast: the speaker is named by a cheap rule or chosen here."""
        decision = state.get("decision")
        model_ms = None
        if decision is None or decision.speaker is None:
            decision, model_ms = await choose_speaker(
                self.router, self.record, self.prompts, event, history, cast, addressed=addresses_bot(event)
            )
            update["decision"] = decision
            log.info("cast: speaker=%s source=%s reason=%s", decision.speaker, decision.source, decision.reason)
        own = model_for(decision.speaker, cast, self.registry.names)
        if own is not None:
            update["speaker_model"] = own
        update["timings"] = {"judge_ms": (time.perf_counter() - started) * 1000, "judge_model_ms": model_ms or 0.0}
        return update

    async def __call__(self, state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        started = time.perf_counter()
        event = state["event"]
        ctx = context_of(runtime)
        registry = self.registry
        forced = state.get("rule") == "respond"
        history = await self.record.window(event.channel_id, ctx.history_limit, before_id=event.message_id)
        update: dict[str, Any] = {"history": history}
        cast = state.get("cast") or []
        if cast:
            return await self._cast_turn(state, event, history, cast, update, started)
        pinned = (state.get("channel_settings") or {}).get("model") in registry.names
        if forced and (len(registry.names) == 1 or ctx.model or pinned):
            # Addressed directly and nothing to choose between: no model call.
            update["timings"] = {"judge_ms": (time.perf_counter() - started) * 1000}
            return update

        available = await self.router.available()
        if not await self.router.paid_calls_allowed(event.guild_id):
            available = [n for n in available if registry.spec(n).free]
        tool_names = self._tools_here(event, available)
        prompt = await judge_prompt(self.prompts, registry, event, history, ctx.bot_name, tool_names)
        result = await structured_call(
            registry,
            self.router.cooldowns,
            self.record,
            judge_schema(available, with_act=bool(tool_names)),
            prompt,
            preferred=registry.judge_model,
            candidates=available,
            purpose="judge",
            event=event,
        )
        output, error, model_ms = result.output, result.error, result.model_ms
        if error is not None:
            log.warning("judge failed (%s); falling back", error)
            decision = Decision(
                respond=forced,
                model=registry.default_model if forced else None,
                reason=f"judge unusable ({error}); "
                + ("answering with the default model" if forced else "staying quiet"),
                source="fallback",
            )
        else:
            decision = Decision(
                respond=forced or bool(output.respond),
                model=output.model,
                voice=bool(output.voice),
                act=bool(getattr(output, "act", True)),
                reason=output.reason or ("addressed directly" if forced else ""),
                source="judge",
                method=result.method,
            )
        log.info(
            "judge: respond=%s model=%s act=%s method=%s reason=%s",
            decision.respond,
            decision.model,
            decision.act,
            result.method,
            decision.reason,
        )
        update["decision"] = decision
        update["timings"] = {"judge_ms": (time.perf_counter() - started) * 1000, "judge_model_ms": model_ms}
        return update
