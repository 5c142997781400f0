"""One streamed call to one model: text, reasoning and tool calls read from the stream, bounded in
tokens and seconds; a reasoning-only result gets one roomier retry. Retries across attempts and models,
cooldowns and fallbacks are `calls`' job."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import BaseMessage

from agent.models.config import ModelSpec
from agent.models.failures import FailureKind, InvalidResponse, classify, describe_failure, http_status
from agent.models.thinking import ReplyReader, only_reasoning, roomier
from agent.models.tokenizers import counter_for
from agent.models.tokens import approx_tokens

log = logging.getLogger(__name__)

Writer = Callable[[Any], None]


@dataclass
class Answer:
    model: str | None = None
    text: str = ""
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    model_ms: float = 0.0
    first_token_ms: float | None = None
    error: str | None = None  # for operators, redacted
    failure: FailureKind | None = None  # for members: what kind of failure (agent/member_texts.py)
    # Why the reply stopped early, if it did: "length" (max_output_tokens) or "time" (max_reply_seconds).
    capped: str | None = None
    capped_limit: float | None = None  # the time limit in seconds, when capped == "time"
    chunks: int = 0  # streamed pieces with text: one token each on llama.cpp, Ollama, LM Studio
    route_notes: list[str] = field(default_factory=list)
    # Tool calls the model asked for: {"id", "name", "arguments"} with the arguments as streamed (raw JSON).
    tool_calls: list[dict[str, str]] = field(default_factory=list)
    # What a reasoning model thought (never the answer, never stored as it) and how its stream ended.
    reasoning: str = ""
    finish_reason: str | None = None
    # The model only reasoned (after its one retry): why, "length", "time" or "stop" (see ONLY_REASONING).
    reasoning_only: str | None = None


def _gather_tool_call(calls: dict[int, dict[str, str]], piece: dict[str, Any]) -> None:
    """Merge one streamed tool-call piece. The name is kept from its first piece: llama.cpp repeats it in
    every piece, and concatenating (as generic chunk merging does) would make `namenamename`."""
    entry = calls.setdefault(int(piece.get("index") or 0), {"id": "", "name": "", "arguments": ""})
    if piece.get("id") and not entry["id"]:
        entry["id"] = str(piece["id"])
    if piece.get("name") and not entry["name"]:
        entry["name"] = str(piece["name"])
    entry["arguments"] += str(piece.get("args") or "")


class StreamFailed(Exception):
    """The call failed; `partial`: text had already reached the member (so it is not repeated)."""

    def __init__(self, exc: BaseException, partial: bool) -> None:
        super().__init__(str(exc))
        self.exc = exc
        self.partial = partial


async def stream_once(
    model: Any,
    messages: list[BaseMessage],
    writer: Writer,
    answer: Answer,
    spec: ModelSpec,
    opens_inside: set[str] | None = None,
) -> None:
    """One call; a reasoning-only result (the whole budget spent thinking) gets one roomier retry."""
    learned = opens_inside if opens_inside is not None else set()
    await _stream_pass(model, messages, writer, answer, spec, spec.max_output_tokens, learned)
    if answer.reasoning_only != "length" or spec.provider == "local":
        return  # out of time (a retry would double the wait) or done thinking: the member gets the note
    room, fields = roomier(spec, spec.max_output_tokens, answer.tokens_in)
    log.info("reply from %s was only reasoning (%s); one retry with %d tokens", spec.name, answer.reasoning_only, room)
    spent_in, spent_out, cause = answer.tokens_in, answer.tokens_out, answer.reasoning_only
    answer.tokens_in = answer.tokens_out = 0
    try:
        await _stream_pass(model.bind(**fields), messages, writer, answer, spec, room, learned)
    except StreamFailed as failed:
        if failed.partial:
            raise
        log.warning("retry of %s failed: %s", spec.name, describe_failure(failed.exc))
        answer.reasoning_only = cause
    answer.tokens_in += spent_in
    answer.tokens_out += spent_out


async def _stream_pass(
    model: Any,
    messages: list[BaseMessage],
    writer: Writer,
    answer: Answer,
    spec: ModelSpec,
    limit: int,
    opens_inside: set[str],
) -> None:
    started = time.perf_counter()
    deadline = time.monotonic() + spec.max_reply_seconds
    reader = ReplyReader(writer, spec, inside=spec.name in opens_inside)
    pieces = received = reasoning_tokens = 0
    calls: dict[int, dict[str, str]] = {}
    answer.reasoning_only = answer.finish_reason = None
    answer.capped = None
    stream = model.astream(messages)
    try:
        while True:
            wait = min(spec.timeout_s, deadline - time.monotonic())
            try:
                # A timeout scope, not wait_for: on Python 3.11 wait_for starts a task for every chunk.
                async with asyncio.timeout(max(wait, 0.001)):
                    chunk = await anext(stream)
            except StopAsyncIteration:
                break
            except TimeoutError:
                if (reader.parts or reader.reasoning) and time.monotonic() >= deadline:
                    answer.capped = "time"
                    break
                raise
            received += 1
            before = reader.answer_pieces
            if reader.feed(chunk):
                pieces += 1
                if reader.answer_pieces > before and answer.first_token_ms is None:
                    answer.first_token_ms = (time.perf_counter() - started) * 1000
                answer.chunks = reader.answer_pieces
            for piece in getattr(chunk, "tool_call_chunks", None) or ():
                _gather_tool_call(calls, piece)
            meta = getattr(chunk, "usage_metadata", None)
            if meta:
                answer.tokens_in = max(answer.tokens_in, int(meta.get("input_tokens", 0)))
                answer.tokens_out = max(answer.tokens_out, int(meta.get("output_tokens", 0)))
                details = meta.get("output_token_details") or {}
                reasoning_tokens = max(reasoning_tokens, int(details.get("reasoning", 0) or 0))
            finish = (getattr(chunk, "response_metadata", None) or {}).get("finish_reason")
            if finish:
                answer.finish_reason = str(finish)
            # Every server sends at least one token per chunk (reasoning included, which servers count
            # in `max_tokens` too): this cap holds where `max_tokens` is ignored.
            if pieces >= limit:
                answer.capped = "length"
                break
            if (reader.parts or reader.reasoning) and time.monotonic() >= deadline:
                answer.capped = "time"
                break
    except Exception as exc:
        reader.close(truncated=True)
        answer.text += reader.text
        answer.reasoning += reader.thought
        if not received and classify(exc) == "fatal" and http_status(exc) is None:
            # Not an HTTP error, a timeout or a refused connection, and nothing parsed: the server
            # answered something that is not a completion stream (HTML, garbage).
            exc = InvalidResponse(describe_failure(exc))
        raise StreamFailed(exc, partial=bool(reader.parts)) from exc
    finally:
        answer.model_ms += (time.perf_counter() - started) * 1000
        with contextlib.suppress(Exception):
            await stream.aclose()  # closes the HTTP response: the server stops generating
    if not received:
        # An HTML page or other garbage parses as an SSE stream with no events at all.
        raise StreamFailed(InvalidResponse("the stream carried no completion"), partial=False)
    cut = answer.capped or ("length" if answer.finish_reason == "length" else None)
    reader.close(truncated=cut is not None)
    if reader.opened_inside:
        opens_inside.add(spec.name)  # its template opens the think block: the next stream starts inside
    answer.chunks = reader.answer_pieces
    answer.text += reader.text
    answer.reasoning += reader.thought
    answer.tool_calls = [{**call, "id": call["id"] or f"call_{i}"} for i, call in sorted(calls.items()) if call["name"]]
    if reader.reasoning and not answer.tokens_out:
        # No usage from the server: the reasoning was generated (and is paid for) too.
        count = counter_for(spec)
        answer.tokens_out = pieces if count is approx_tokens else count(reader.text + reader.thought)
    if only_reasoning(reader.text, bool(answer.tool_calls), reader.thought, reasoning_tokens):
        answer.reasoning_only = cut or "stop"
