"""One answer from the models, whatever happens to them: retries, cooldowns, fallbacks, waiting.

- 429: the model cools down until its Retry-After (or an exponential backoff) and the next model
  that can serve takes over.
- 4xx (a client error: a too-long request, a wrong key): never a cooldown. A context overflow fits the
  history to the window the server names (or shows on its info endpoint) and asks the same model again;
  a message too long by itself for every model is a `too_long` failure. A 401/403 is `misconfigured`.
- Failures reach members only as a `FailureKind`; the server's own text goes to logs and the record, redacted.
- 5xx and refused connections: retried with backoff a bounded number of times, then the model
  cools down briefly and the next one takes over.
- No token within `timeout_s`, or a response that is not a valid stream (an HTML page): no retry;
  the model cools down and the next one takes over at once, never waited for.
- Nothing can serve: the member is told how long, and the call waits for the first model to free up,
  as long as the time spent so far (trying models included) stays within `max_busy_wait_seconds`.
- Every reply is bounded: at most `max_output_tokens` (counted here too, for servers that ignore the
  request's limit) and at most `max_reply_seconds`; either way it ends cleanly where it is.
- A stream that fails after text was sent is not retried (that would repeat it): it ends with what was
  said, and the failure is reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import BaseMessage

from agent.events import Event
from agent.models.config import ModelSpec
from agent.models.failures import (
    FailureKind,
    InvalidResponse,
    classify,
    describe_failure,
    failure_kind,
    http_status,
    retry_after_seconds,
    window_in,
)
from agent.models.router import AllBusy, OverBudget, Pick, Router
from agent.models.thinking import ReplyReader, only_reasoning, roomier
from agent.models.tokenizers import counter_for
from agent.models.tokens import approx_tokens
from agent.models.windows import probe_window
from agent.stream import Notice

log = logging.getLogger(__name__)

Writer = Callable[[Any], None]
TRANSIENT_COOLDOWN_SECONDS = 15.0
# A context overflow: how many times the history is fitted to a smaller window before giving up.
MAX_OVERFLOW_RETRIES = 3
# What a message needs beside itself at the least: the prompt's frame and the speaker's name.
MESSAGE_ROOM_TOKENS = 64
# The request itself was at fault (a client error): the model is fine for others, it never cools down.
NEVER_COOLS: frozenset[str] = frozenset({"too_long", "misconfigured", "refused"})
# Kinds worth waiting for: the model will serve again soon.
WAITABLE: frozenset[str] = frozenset({"busy", "unavailable"})


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


class _Failed(Exception):
    def __init__(self, exc: BaseException, partial: bool) -> None:
        super().__init__(str(exc))
        self.exc = exc
        self.partial = partial


async def _stream_once(
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
    except _Failed as failed:
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
        raise _Failed(exc, partial=bool(reader.parts)) from exc
    finally:
        answer.model_ms += (time.perf_counter() - started) * 1000
        with contextlib.suppress(Exception):
            await stream.aclose()  # closes the HTTP response: the server stops generating
    if not received:
        # An HTML page or other garbage parses as an SSE stream with no events at all.
        raise _Failed(InvalidResponse("the stream carried no completion"), partial=False)
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


def _alone_too_long(event: Event, spec: ModelSpec) -> bool:
    """The member's own message cannot fit this model's window, even with no history and no prompt."""
    return approx_tokens(event.text) + spec.max_output_tokens + MESSAGE_ROOM_TOKENS > spec.context_window


def _gave_up(kinds: dict[str, FailureKind]) -> FailureKind:
    """What the member is told when no model could answer: busy only when something was busy."""
    seen = set(kinds.values())
    if not seen or seen & {"busy"}:
        return "busy"
    if seen == {"too_long"}:
        return "too_long"
    for kind in ("unavailable", "timeout", "misconfigured", "invalid_response", "refused"):
        if kind in seen:
            return kind
    return "failed"


async def _learn_window(router: Router, name: str, spec: ModelSpec, exc: BaseException, sent_tokens: int) -> None:
    """After an overflow: the window the server names, or shows on its info endpoint, or a smaller guess."""
    window = window_in(exc) or await probe_window(spec)
    if window is None or window >= spec.context_window:
        # Nothing said, or we already fitted to what it said (its tokenizer counts more than ours): shrink.
        window = min(spec.context_window, sent_tokens + spec.max_output_tokens) * 3 // 4
    router.registry.learn_window(name, window)
    log.warning("model %s: context overflow; fitting to a window of %d tokens from now on", name, window)


async def stream_answer(
    router: Router,
    first: str | None,
    build: Callable[[ModelSpec], list[BaseMessage]],
    writer: Writer,
    event: Event,
    *,
    record_call: Callable[..., None],
    retries: int,
    max_wait_s: float,
    temperature: float | None = None,
    tools_for: Callable[[ModelSpec], list[dict[str, Any]]] | None = None,
) -> Answer:
    registry = router.registry
    answer = Answer()
    tried: list[str] = []
    kinds: dict[str, FailureKind] = {}  # why each model tried for this message failed
    started = time.monotonic()
    name = first
    while True:
        if name is None:
            route = await router.pick(
                None, needed_tokens=approx_tokens(event.text), guild_id=event.guild_id, exclude=tuple(tried)
            )
            if isinstance(route, Pick):
                name = route.name
                answer.route_notes.append(f"fallback to {name}: {route.reason}")
            elif isinstance(route, OverBudget):
                answer.error, answer.failure = route.reason, "over_budget"
                return answer
            else:
                assert isinstance(route, AllBusy)
                if kinds and not set(kinds.values()) & WAITABLE:
                    # Every model refused this request itself (too long, misconfigured, broken): waiting
                    # would change nothing, and nothing is busy.
                    answer.failure = _gave_up(kinds)
                    return answer
                wait = route.seconds + 0.05
                # Time already spent trying models counts: the member's wait is bounded as a whole.
                if time.monotonic() - started + wait > max_wait_s:
                    busy = f"all models are busy; try again in ~{int(route.seconds) + 1} s"
                    answer.error = f"{answer.error}; {busy}" if answer.error else busy
                    answer.failure = _gave_up(kinds)
                    return answer
                writer(Notice(text=f"All models are busy; I'll answer in ~{int(wait) + 1} s."))
                answer.route_notes.append(f"all models busy: waited {wait:.1f} s")
                await asyncio.sleep(wait)
                tried, kinds = [], {}
                continue
        spec = registry.spec(name)
        if _alone_too_long(event, spec):
            kinds[name] = "too_long"
            answer.error = f"the message alone does not fit {name}'s window ({spec.context_window} tokens)"
            tried.append(name)
            name = None
            continue
        messages = build(spec)
        model = registry.chat_model(name, temperature=temperature)
        offered = tools_for(spec) if tools_for is not None else []
        if offered:
            model = model.bind_tools(offered)
        attempt = overflows = 0
        while True:
            answer.tokens_in = answer.tokens_out = answer.chunks = 0
            answer.reasoning = ""
            try:
                await _stream_once(model, messages, writer, answer, spec, registry.opens_in_reasoning)
            except _Failed as failed:
                kind = failure_kind(failed.exc)
                reason = describe_failure(failed.exc)  # redacted: operators only
                record_call(model=name, ok=False, error=reason, tokens_in=0, tokens_out=0, cost_usd=0.0)
                log.warning("model %s failed (%s, attempt %d): %s", name, kind, attempt + 1, reason)
                if failed.partial:
                    answer.model, answer.error, answer.failure = name, f"model {name!r} failed: {reason}", kind
                    return answer
                answer.error = f"model {name!r} failed: {reason}"
                if kind == "too_long" and overflows < MAX_OVERFLOW_RETRIES:
                    # A client error, not a busy server: fit the history to the real window and ask again.
                    overflows += 1
                    sent = sum(counter_for(spec)(str(m.content)) for m in messages)
                    await _learn_window(router, name, spec, failed.exc, sent)
                    spec = registry.spec(name)
                    if _alone_too_long(event, spec):
                        kinds[name] = "too_long"
                        break
                    messages = build(spec)
                    continue
                timed_out = isinstance(failed.exc, TimeoutError)
                if classify(failed.exc) == "transient" and not timed_out and attempt < retries:
                    attempt += 1
                    await asyncio.sleep(0.25 * 2 ** (attempt - 1))
                    continue
                kinds[name] = kind
                if kind not in NEVER_COOLS:
                    # A 429 rests for its Retry-After (or an exponential backoff); other failures briefly.
                    rate_limited = classify(failed.exc) == "rate_limit"
                    retry_after = retry_after_seconds(failed.exc) if rate_limited else TRANSIENT_COOLDOWN_SECONDS
                    await router.cooldowns.cool(name, retry_after=retry_after, reason=reason)
                break
            else:
                answer.model, answer.error, answer.failure = name, None, None
                # Servers that do not report usage: count with the model's tokenizer, or where only the
                # approximation is at hand, by streamed pieces (a piece is at least one token).
                count = counter_for(spec)
                answer.tokens_in = answer.tokens_in or sum(count(str(m.content)) for m in messages)
                if not answer.tokens_out:
                    answer.tokens_out = (
                        answer.chunks if count is approx_tokens and answer.chunks else count(answer.text)
                    )
                answer.cost_usd = spec.cost(answer.tokens_in, answer.tokens_out)
                router.note_spend(event.guild_id, answer.cost_usd)
                await router.cooldowns.clear(name)
                if answer.capped:
                    limit = (
                        f"{spec.max_output_tokens} tokens"
                        if answer.capped == "length"
                        else f"{spec.max_reply_seconds:g} s"
                    )
                    answer.capped_limit = spec.max_reply_seconds if answer.capped == "time" else None
                    log.info("reply from %s stopped at its limit (%s)", name, limit)
                return answer
        tried.append(name)
        name = None
