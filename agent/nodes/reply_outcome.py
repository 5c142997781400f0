"""What a reply round returns to the graph: the finished answer (reply, usage, failure, timings), or the
tool calls it asked for, kept for the act node."""

from __future__ import annotations

import time
from typing import Any

from langchain_core.messages import AIMessage
from langchain_core.messages.tool import InvalidToolCall, ToolCall

from agent.events import ChatLine, Event
from agent.member_texts import no_answer
from agent.memory.record import Record
from agent.models.one_stream import Answer
from agent.safety import defuse_mentions
from agent.state import State, Usage
from agent.tools.policy import parse_arguments


def answered(
    record: Record,
    state: State,
    answer: Answer,
    text: str,
    *,
    spoken: bool,
    author: tuple[str, int],
    store_reply: bool,
    started: float,
) -> dict[str, Any]:
    """The state update for a finished answer. The reply is stored (with its successful call's usage)
    when `store_reply`; a failure is kept beside a partial answer, and members read only its kind."""
    event = state["event"]
    reply = defuse_mentions(text.strip())
    update: dict[str, Any] = {"reply": reply, "spoken": spoken, "acting": False}
    if answer.route_notes:
        update["model_reason"] = "; ".join([state.get("model_reason") or "", *answer.route_notes]).strip("; ")
    if answer.model is not None:
        update["model"] = answer.model
        update["usage"] = Usage(
            model=answer.model,
            tokens_in=answer.tokens_in,
            tokens_out=answer.tokens_out,
            cost_usd=answer.cost_usd,
            latency_ms=round(answer.model_ms, 1),
        )
        # Failed attempts were recorded as they happened; this is the successful call.
        success = None
        if answer.error is None:
            success = {
                "purpose": "reply",
                "model": answer.model,
                "tokens_in": answer.tokens_in,
                "tokens_out": answer.tokens_out,
                "cost_usd": answer.cost_usd,
                "latency_ms": answer.model_ms,
                "ok": True,
                "error": None,
            }
        if reply and store_reply:
            update["reply_message_id"] = record.store_bot_reply(event, reply, author[1], author[0], usage=success)
        elif success is not None:
            record.queue_usage(event, **success)  # the door records the reply it delivers
    if answer.capped:
        update["capped"], update["capped_seconds"] = answer.capped, answer.capped_limit
    if answer.error is not None or answer.failure is not None:
        update["error"], update["failure"] = answer.error or answer.failure, answer.failure or "failed"
    elif not reply:
        update["error"] = no_answer(answer.model, answer.reasoning_only)
        update["failure"] = "only_reasoning" if answer.reasoning_only else "empty"
    timings = {"generate_ms": (time.perf_counter() - started) * 1000, "generate_model_ms": answer.model_ms}
    if answer.first_token_ms is not None:
        timings["first_token_ms"] = answer.first_token_ms
    update["timings"] = timings
    record.queue_note(
        event.message_id,
        "reply",
        {
            "model": answer.model,
            "first_token_ms": None if answer.first_token_ms is None else round(answer.first_token_ms, 1),
            "generate_ms": round(timings["generate_ms"], 1),
            "failure": update.get("failure"),
        },
    )
    return update


def asked_for_tools(
    record: Record,
    event: Event,
    answer: Answer,
    text: str,
    started: float,
    lines: list[ChatLine],
) -> dict[str, Any]:
    """A round that ended in tool calls: keep them for the act node; this round's usage counts now."""
    assert answer.model is not None
    record.queue_usage(
        event,
        purpose="reply",
        model=answer.model,
        tokens_in=answer.tokens_in,
        tokens_out=answer.tokens_out,
        cost_usd=answer.cost_usd,
        latency_ms=answer.model_ms,
    )
    timings = {"generate_ms": (time.perf_counter() - started) * 1000, "tool_rounds_model_ms": answer.model_ms}
    return {
        # The next round reads the same window: kept, not queried again.
        "history": lines,
        "tool_turns": [tool_call_message(answer)],
        "acting": True,
        "reply": text,
        "model": answer.model,
        "timings": timings,
    }


def tool_call_message(answer: Answer) -> AIMessage:
    """The model's turn as the next request must repeat it; calls with broken JSON stay, marked invalid,
    so the act node can answer each (the model reads why and may try again)."""
    calls: list[ToolCall] = []
    invalid: list[InvalidToolCall] = []
    for call in answer.tool_calls:
        try:
            args = parse_arguments(call["arguments"])
        except ValueError as exc:
            invalid.append(
                InvalidToolCall(
                    name=call["name"], args=call["arguments"], id=call["id"], error=str(exc), type="invalid_tool_call"
                )
            )
            continue
        calls.append(ToolCall(name=call["name"], args=args, id=call["id"], type="tool_call"))
    return AIMessage(content=answer.text, tool_calls=calls, invalid_tool_calls=invalid)
