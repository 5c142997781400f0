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
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.messages import BaseMessage

from agent.events import Event
from agent.models.config import ModelSpec
from agent.models.failures import (
    FailureKind,
    classify,
    describe_failure,
    failure_kind,
    retry_after_seconds,
    window_in,
)
from agent.models.one_stream import Answer, StreamFailed, Writer, stream_once
from agent.models.router import AllBusy, OverBudget, Pick, Router
from agent.models.tokenizers import counter_for
from agent.models.tokens import approx_tokens
from agent.models.windows import probe_window
from agent.stream import Notice

log = logging.getLogger(__name__)

TRANSIENT_COOLDOWN_SECONDS = 15.0
# A context overflow: how many times the history is fitted to a smaller window before giving up.
MAX_OVERFLOW_RETRIES = 3
# What a message needs beside itself at the least: the prompt's frame and the speaker's name.
MESSAGE_ROOM_TOKENS = 64
# The request itself was at fault (a client error): the model is fine for others, it never cools down.
NEVER_COOLS: frozenset[str] = frozenset({"too_long", "misconfigured", "refused"})
# Kinds worth waiting for: the model will serve again soon.
WAITABLE: frozenset[str] = frozenset({"busy", "unavailable"})


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
    order: Sequence[str],
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
    order = order or router.order(first)  # a run routed before the order was kept: every model, routed order
    answer = Answer()
    tried: list[str] = []
    kinds: dict[str, FailureKind] = {}  # why each model tried for this message failed
    started = time.monotonic()
    name = first
    while True:
        if name is None:
            # The next in the order routed for this message (select_model), as things are now.
            route = await router.pick(
                None,
                needed_tokens=approx_tokens(event.text),
                guild_id=event.guild_id,
                exclude=tried,
                among=order,
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
            answer.error = (
                f"the message alone does not fit {name}'s window ({spec.context_window} tokens): send a shorter "
                f"one, or raise context_window for {name} in the model list if the model takes more"
            )
            tried.append(name)
            name = None
            continue
        messages = build(spec)
        model = await registry.achat_model(name, temperature=temperature)
        offered = tools_for(spec) if tools_for is not None else []
        if offered:
            model = model.bind_tools(offered)
        attempt = overflows = 0
        while True:
            answer.tokens_in = answer.tokens_out = answer.chunks = 0
            answer.reasoning = ""
            try:
                await stream_once(model, messages, writer, answer, spec, registry.opens_in_reasoning)
            except StreamFailed as failed:
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
