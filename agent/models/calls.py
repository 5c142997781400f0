"""One answer from the models, whatever happens to them: retries, cooldowns, fallbacks, waiting.

- 429: the model cools down until its Retry-After (or an exponential backoff) and the next model
  that can serve takes over.
- 5xx, timeouts, refused connections: retried with backoff a bounded number of times, then the model
  cools down briefly and the next one takes over.
- Nothing can serve: the member is told how long, and the call waits for the first model to free up
  (up to `max_busy_wait_seconds`).
- A stream that fails after text was sent is not retried (that would repeat it): it ends with what was
  said, and the failure is reported.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import BaseMessage

from agent.events import Event
from agent.models.config import ModelSpec
from agent.models.failures import classify, describe_failure, retry_after_seconds
from agent.models.router import AllBusy, OverBudget, Pick, Router
from agent.models.tokens import approx_tokens

log = logging.getLogger(__name__)

Writer = Callable[[Any], None]
TRANSIENT_COOLDOWN_SECONDS = 15.0


@dataclass
class Answer:
    model: str | None = None
    text: str = ""
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    model_ms: float = 0.0
    first_token_ms: float | None = None
    error: str | None = None
    route_notes: list[str] = field(default_factory=list)


class _Failed(Exception):
    def __init__(self, exc: BaseException, partial: bool) -> None:
        super().__init__(str(exc))
        self.exc = exc
        self.partial = partial


async def _stream_once(
    model: Any, messages: list[BaseMessage], writer: Writer, answer: Answer, idle_timeout_s: float
) -> None:
    started = time.perf_counter()
    parts: list[str] = []
    try:
        stream = model.astream(messages)
        while True:
            try:
                chunk = await asyncio.wait_for(anext(stream), idle_timeout_s)
            except StopAsyncIteration:
                break
            text = chunk.text if isinstance(chunk.text, str) else ""
            if text:
                if answer.first_token_ms is None:
                    answer.first_token_ms = (time.perf_counter() - started) * 1000
                parts.append(text)
                writer({"token": text})
            meta = getattr(chunk, "usage_metadata", None)
            if meta:
                answer.tokens_in = max(answer.tokens_in, int(meta.get("input_tokens", 0)))
                answer.tokens_out = max(answer.tokens_out, int(meta.get("output_tokens", 0)))
    except Exception as exc:
        answer.text += "".join(parts)
        raise _Failed(exc, partial=bool(parts)) from exc
    finally:
        answer.model_ms += (time.perf_counter() - started) * 1000
    answer.text += "".join(parts)


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
) -> Answer:
    registry = router.registry
    answer = Answer()
    tried: list[str] = []
    waited = 0.0
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
                answer.error = route.reason
                return answer
            else:
                assert isinstance(route, AllBusy)
                wait = route.seconds + 0.05
                if waited + wait > max_wait_s:
                    busy = f"all models are busy; try again in ~{int(route.seconds) + 1} s"
                    answer.error = f"{answer.error}; {busy}" if answer.error else busy
                    return answer
                writer({"notice": f"All models are busy; I'll answer in ~{int(wait) + 1} s."})
                answer.route_notes.append(f"all models busy: waited {wait:.1f} s")
                await asyncio.sleep(wait)
                waited += wait
                tried = []
                continue
        spec = registry.spec(name)
        messages = build(spec)
        model = registry.chat_model(name, temperature=temperature)
        for attempt in range(retries + 1):
            answer.tokens_in = answer.tokens_out = 0
            try:
                await _stream_once(model, messages, writer, answer, spec.timeout_s)
            except _Failed as failed:
                kind = classify(failed.exc)
                reason = describe_failure(failed.exc)
                record_call(model=name, ok=False, error=reason, tokens_in=0, tokens_out=0, cost_usd=0.0)
                log.warning("model %s failed (%s, attempt %d): %s", name, kind, attempt + 1, reason)
                if failed.partial:
                    answer.model, answer.error = name, f"model {name!r} failed: {reason}"
                    return answer
                if kind == "transient" and attempt < retries:
                    await asyncio.sleep(0.25 * 2**attempt)
                    continue
                retry_after = retry_after_seconds(failed.exc) if kind == "rate_limit" else None
                if kind != "rate_limit" and retry_after is None:
                    retry_after = TRANSIENT_COOLDOWN_SECONDS
                await router.cooldowns.cool(name, retry_after=retry_after, reason=reason)
                answer.error = f"model {name!r} failed: {reason}"
                break
            else:
                answer.model, answer.error = name, None
                # Servers that do not report usage: count it ourselves.
                answer.tokens_in = answer.tokens_in or sum(approx_tokens(str(m.content)) for m in messages)
                answer.tokens_out = answer.tokens_out or approx_tokens(answer.text)
                answer.cost_usd = spec.cost(answer.tokens_in, answer.tokens_out)
                router.note_spend(event.guild_id, answer.cost_usd)
                await router.cooldowns.clear(name)
                return answer
        tried.append(name)
        name = None
