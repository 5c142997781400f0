"""One structured-output call (the judge's decision, a member profile) through the router.

Uses the preferred model when it can serve, else the first that can; records usage; a 429 cools
the model. Never raises: the caller gets the parsed output or the reason there is none.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import HumanMessage
from pydantic import BaseModel

from agent.events import Event
from agent.models.failures import classify, describe_failure, retry_after_seconds
from agent.models.tokens import approx_tokens


@dataclass
class StructuredResult:
    output: Any = None
    model: str | None = None
    error: str | None = None
    model_ms: float = 0.0


async def structured_call(
    services: Any,
    schema: type[BaseModel],
    prompt: str,
    *,
    preferred: str,
    candidates: list[str],
    purpose: str,
    event: Event | None,
) -> StructuredResult:
    registry = services.registry
    name = preferred if preferred in candidates else next(iter(candidates), None)
    if name is None:
        return StructuredResult(error="no model can answer now (cooling down or over today's budget)")
    spec = registry.spec(name)
    result = StructuredResult(model=name)
    started = time.perf_counter()
    try:
        runnable = registry.chat_model(name).with_structured_output(schema, method=spec.structured_output)
        output = await asyncio.wait_for(runnable.ainvoke([HumanMessage(prompt)]), timeout=spec.timeout_s)
        result.output = output if isinstance(output, schema) else schema.model_validate(output)
    except Exception as exc:  # unparseable output, unknown model, endpoint down: the caller falls back
        result.error = describe_failure(exc)
        if classify(exc) == "rate_limit":
            await services.router.cooldowns.cool(name, retry_after=retry_after_seconds(exc), reason=result.error)
    result.model_ms = (time.perf_counter() - started) * 1000
    tokens_in = approx_tokens(prompt)
    tokens_out = 0 if result.output is None else approx_tokens(result.output.model_dump_json())
    services.record.queue_usage(
        event,
        purpose=purpose,
        model=name,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        cost_usd=spec.cost(tokens_in, tokens_out),
        latency_ms=result.model_ms,
        ok=result.error is None,
        error=result.error,
    )
    return result
