"""generate: write the answer, streaming tokens through the run's stream writer."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langgraph.runtime import Runtime

from agent.events import ChatLine, Event
from agent.models.config import ModelSpec
from agent.models.failures import describe_failure
from agent.models.tokens import approx_tokens, shorten_middle
from agent.safety import defuse_mentions
from agent.services import Services, get_services
from agent.state import Context, State, Usage, context_of

log = logging.getLogger(__name__)


def _as_message(line: ChatLine, bot_name: str) -> BaseMessage:
    if line.is_bot:
        return AIMessage(content=line.text, name=bot_name)
    return HumanMessage(content=f"{line.author}: {line.text}")


def build_messages(
    system: str,
    context_lines: list[ChatLine],
    event: Event,
    spec: ModelSpec,
    bot_name: str,
    context_budget: int | None = None,
) -> tuple[list[BaseMessage], int]:
    """System prompt, as much recent context as fits (newest kept), and the message being answered.

    Returns the messages and how many context lines were dropped to fit the window.
    """
    budget = spec.context_window - spec.max_output_tokens - approx_tokens(system) - 16
    text = event.text.strip() or "(sent no text)"
    if event.attachments:
        text = f"{text} {event.describe_attachments()}"
    current = HumanMessage(content=f"{event.author_name}: {shorten_middle(text, max(budget // 2, 64))}")
    budget -= approx_tokens(str(current.content)) + 4
    if context_budget is not None:
        budget = min(budget, context_budget)
    kept: list[BaseMessage] = []
    for line in reversed(context_lines):
        msg = _as_message(line, bot_name)
        cost = approx_tokens(str(msg.content)) + 4
        if cost > budget:
            break
        kept.append(msg)
        budget -= cost
    dropped = len(context_lines) - len(kept)
    return [SystemMessage(content=system), *reversed(kept), current], dropped


async def context_lines(services: Services, state: State, limit: int, chain_limit: int) -> list[ChatLine]:
    """The reply chain the message belongs to, then the channel's recent window, without repeats."""
    event = state["event"]
    record = services.record
    history = state.get("history")
    if history is None:
        history = await record.window(event.channel_id, limit, before_id=event.message_id)
    seen = {line.message_id for line in history}
    chain = [line for line in await record.reply_chain(event.reply_to_id, chain_limit) if line.message_id not in seen]
    if event.thread_starter_id is not None and event.thread_starter_id not in seen:
        starter = await record.message(event.thread_starter_id)
        if starter is not None and all(line.message_id != starter.message_id for line in chain):
            chain.insert(0, starter)
    return chain + history


async def generate(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    started = time.perf_counter()
    services = await get_services()
    event = state["event"]
    ctx = context_of(runtime)
    name = state["model"]
    spec = services.registry.spec(name)
    persona = "\n".join(s.text for s in state.get("retrieved", [])) or f"{ctx.bot_name} is a helpful member."
    system = await services.prompts.arender(
        "system",
        event.guild_id,
        bot_name=ctx.bot_name,
        persona=persona,
        channel=event.channel_name or "dm",
        author=event.author_name,
        date=datetime.now(UTC).strftime("%Y-%m-%d"),
    )
    lines = await context_lines(services, state, ctx.history_limit, services.settings.reply_chain_limit)
    messages, dropped = build_messages(
        system, lines, event, spec, ctx.bot_name, context_budget=services.settings.context_tokens
    )
    if dropped:
        log.info("context cut: %d of %d earlier messages dropped to fit %s", dropped, len(lines), name)

    writer = runtime.stream_writer
    parts: list[str] = []
    usage_in = usage_out = 0
    model_started = time.perf_counter()
    first_token_ms: float | None = None
    error: str | None = None
    try:
        async for chunk in services.registry.chat_model(name).astream(messages):
            text = chunk.text if isinstance(chunk.text, str) else ""
            if text:
                if first_token_ms is None:
                    first_token_ms = (time.perf_counter() - model_started) * 1000
                parts.append(text)
                writer({"token": text})
            meta = getattr(chunk, "usage_metadata", None)
            if meta:
                usage_in = max(usage_in, int(meta.get("input_tokens", 0)))
                usage_out = max(usage_out, int(meta.get("output_tokens", 0)))
    except Exception as exc:  # the user's message is already stored; report, never drop silently
        error = f"model {name!r} failed: {describe_failure(exc)}"
        log.warning("%s", error)
    model_ms = (time.perf_counter() - model_started) * 1000
    reply = defuse_mentions("".join(parts).strip())
    usage_in = usage_in or sum(approx_tokens(str(m.content)) for m in messages)
    usage_out = usage_out or approx_tokens(reply)
    usage = Usage(
        model=name,
        tokens_in=usage_in,
        tokens_out=usage_out,
        cost_usd=spec.cost(usage_in, usage_out),
        latency_ms=round(model_ms, 1),
    )
    call = {
        "purpose": "reply",
        "model": name,
        "tokens_in": usage_in,
        "tokens_out": usage_out,
        "cost_usd": usage["cost_usd"],
        "latency_ms": model_ms,
        "ok": error is None,
        "error": error,
    }
    update: dict[str, Any] = {"usage": usage, "reply": reply}
    if reply and ctx.store_reply:
        update["reply_message_id"] = services.record.store_bot_reply(
            event, reply, event.bot_user_id or services.bot_user_id, ctx.bot_name, usage=call
        )
    else:
        services.record.queue_usage(event, **call)  # the door records the reply it delivers
    if error is not None:
        update["error"] = error  # with a partial answer kept, the failure is still reported
    elif not reply:
        update["error"] = f"model {name!r} returned an empty answer"
    timings = {"generate_ms": (time.perf_counter() - started) * 1000, "generate_model_ms": model_ms}
    if first_token_ms is not None:
        timings["first_token_ms"] = first_token_ms
    update["timings"] = timings
    return update
