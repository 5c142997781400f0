"""One structured-output call (the judge's decision, a member profile) through the router.

OpenAI-compatible servers differ in what they accept for structured output: OpenAI, vLLM, Ollama
and LM Studio take a JSON schema; llama.cpp's servers refuse it but take JSON mode (and read a
`schema` beside it to constrain the output); some only manage a tool call, and only unstreamed.
With `structured_output = "auto"` (the default) the methods are tried in that order, the first whose
output validates is remembered for the model, and a refusal moves on to the next method. Never
raises: the caller gets the parsed output or the reason there is none.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from dataclasses import dataclass
from typing import Any, Protocol

from langchain_core.messages import BaseMessage, HumanMessage
from pydantic import BaseModel, ValidationError

from agent.events import Event
from agent.member_texts import ONLY_REASONING
from agent.models.failures import classify, describe_failure, retry_after_seconds, server_reason
from agent.models.reasoning import reasoning_in, split_text
from agent.models.registry import ModelRegistry
from agent.models.thinking import roomier_model, thought_only
from agent.models.tokenizers import counter_for

METHODS = ("json_schema", "json_mode", "function_calling")
BAD_OUTPUT_TRIES = 2


class UsageSink(Protocol):
    def queue_usage(self, event: Event | None, **usage: Any) -> None: ...


class Cooler(Protocol):
    async def cool(self, model: str, *, retry_after: float | None, reason: str) -> object: ...


@dataclass
class StructuredResult:
    output: Any = None
    model: str | None = None
    method: str | None = None
    error: str | None = None
    model_ms: float = 0.0


class _BadOutput(Exception):
    """The server answered, but not with JSON of the schema's shape."""

    def __init__(self, reason: str, message: BaseMessage | None) -> None:
        super().__init__(reason)
        self.message = message


def schema_instructions(schema: type[BaseModel]) -> str:
    """JSON mode constrains syntax only: the prompt has to say which fields."""
    return "\n\nAnswer with one JSON object only, no other text, matching this JSON schema:\n" + json.dumps(
        schema.model_json_schema(), ensure_ascii=False
    )


def parse_json_reply(text: str, schema: type[BaseModel], reasoning: str = "") -> BaseModel:
    """The schema's object from a reply that may wrap it in prose, a code fence or a think block before
    it; a reasoning model may even leave the content empty and put the JSON in its reasoning."""
    answer, inline = split_text(text)
    problem: Exception = ValueError("no JSON object in the reply")
    for source in (answer, reasoning, inline):
        match = re.search(r"\{.*\}", source, flags=re.DOTALL)
        if match is None:
            continue
        try:
            return schema.model_validate_json(match.group(0))
        except ValidationError as exc:
            problem = exc
    raise problem


def _from_message(message: BaseMessage | None, schema: type[BaseModel]) -> BaseModel | None:
    """The object from a raw reply a structured-output parser could not read (a think block first)."""
    if message is None:
        return None
    try:
        return parse_json_reply(str(message.content or ""), schema, reasoning_in(message))
    except (ValueError, ValidationError):
        return None


async def _attempt(
    model: Any, method: str, schema: type[BaseModel], prompt: str
) -> tuple[BaseModel, BaseMessage | None]:
    """One call with one method; the parsed output and the raw message (for its usage).

    JSON schema and JSON mode are parsed here, not by the client: a reasoning model may put a think
    block before the JSON, or the JSON in its reasoning, or stop at the limit still thinking."""
    if method in ("json_mode", "json_schema"):
        if method == "json_mode":
            fmt: dict[str, Any] = {"type": "json_object", "schema": schema.model_json_schema()}
            text = prompt + schema_instructions(schema)
        else:
            fmt = {
                "type": "json_schema",
                "json_schema": {"name": schema.__name__, "schema": schema.model_json_schema()},
            }
            text = prompt
        message = await _invoke(model, model.bind(response_format=fmt), [HumanMessage(text)])
        try:
            return parse_json_reply(str(message.content), schema, reasoning_in(message)), message
        except (ValueError, ValidationError) as exc:
            raise _BadOutput(f"JSON of the wrong shape ({_validation_summary(exc)})", message) from exc
    runnable = model.with_structured_output(schema, method=method, include_raw=True)
    result = await runnable.ainvoke([HumanMessage(prompt)])
    raw = result.get("raw")
    if result.get("parsing_error") is not None or result.get("parsed") is None:
        salvaged = _from_message(raw, schema)
        if salvaged is not None:
            return salvaged, raw
        raise _BadOutput(f"output did not parse ({_first_line(result.get('parsing_error'))})", raw)
    parsed = result["parsed"]
    return (parsed if isinstance(parsed, schema) else schema.model_validate(parsed)), raw


async def _invoke(model: Any, bound: Any, messages: list[BaseMessage]) -> BaseMessage:
    """The reply, also when it stopped at the token limit (the client raises on that when a response
    format was asked for): then it is read as it is, to see whether the model spent it thinking."""
    try:
        message: BaseMessage = await bound.ainvoke(messages)
        return message
    except Exception as exc:
        # Only the OpenAI client raises this, and a run that never imported it (a local-only model list)
        # cannot meet one: it is not imported for the sake of an except clause.
        openai = sys.modules.get("openai")
        if openai is None or not isinstance(exc, openai.LengthFinishReasonError):
            raise
        cut: BaseMessage = model._create_chat_result(exc.completion).generations[0].message
        cut.response_metadata["finish_reason"] = "length"
        return cut


def _validation_summary(exc: Exception) -> str:
    """Which field was wrong, in one line (pydantic's first line only counts the errors)."""
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "the object"
        return f"{where}: {err['msg']}"[:160]
    return _first_line(exc)


def _first_line(exc: Any) -> str:
    text = str(exc or "no output").strip()
    return text.splitlines()[0][:160] if text else "no output"


_ABOUT_THE_REQUEST = re.compile(r"response_format|json|schema|tool|function|input should|support|valid", re.IGNORECASE)


def _refused(exc: BaseException) -> bool:
    """The server turned this request's form down (another method may be accepted), as opposed to being
    busy or down. 4xx says so; llama-cpp-python answers an unsupported format with a 500 naming it."""
    status = getattr(exc, "status_code", None)
    if status is None or status in (408, 429):
        return False
    if 400 <= status < 500:
        return True
    return status == 500 and bool(_ABOUT_THE_REQUEST.search(server_reason(exc) or ""))


def _usage_of(message: BaseMessage | None) -> tuple[int, int] | None:
    meta = getattr(message, "usage_metadata", None)
    if not meta:
        return None
    return int(meta.get("input_tokens", 0)), int(meta.get("output_tokens", 0))


async def structured_call(
    registry: ModelRegistry,
    cooldowns: Cooler,
    usage: UsageSink,
    schema: type[BaseModel],
    prompt: str,
    *,
    preferred: str,
    candidates: list[str],
    purpose: str,
    event: Event | None,
) -> StructuredResult:
    name = preferred if preferred in candidates else next(iter(candidates), None)
    if name is None:
        return StructuredResult(error="no model can answer now (cooling down or over today's budget)")
    spec = registry.spec(name)
    count = counter_for(spec)
    result = StructuredResult(model=name)
    if spec.provider == "local":
        methods: tuple[str, ...] = ("grammar",)
    elif spec.structured_output != "auto":
        methods = (spec.structured_output,)
    else:
        known = registry.structured_method(name)
        # What worked first; the others only if it botches this object twice.
        methods = (known, *(m for m in METHODS if m != known)) if known else METHODS
    model = await registry.achat_model(name, streaming=False)
    started = time.perf_counter()
    tokens_in = tokens_out = 0
    refused: set[str] = set()
    # A sampled model can botch one object: each method gets a second try before the next is used.
    tries = 1 if spec.provider == "local" else BAD_OUTPUT_TRIES  # the local grammar cannot botch it
    for method in (m for m in methods for _ in range(tries)):
        if method in refused:
            continue
        message: BaseMessage | None = None
        try:
            if method == "grammar":
                output = await asyncio.wait_for(
                    model.with_structured_output(schema).ainvoke([HumanMessage(prompt)]), spec.timeout_s
                )
            else:
                output, message = await asyncio.wait_for(_attempt(model, method, schema, prompt), spec.timeout_s)
        except _BadOutput as bad:
            result.error = f"{method}: {bad}"
            message = bad.message
            if spec.provider != "local" and thought_only(message):
                # A reasoning model spent the whole budget thinking: the next try gets more room, less effort.
                result.error = f"{method}: {ONLY_REASONING['length']}"
                model = roomier_model(model, spec, count(prompt))
        except Exception as exc:  # refused, unparseable, endpoint down: the caller falls back
            result.error = describe_failure(exc)
            if classify(exc) == "rate_limit":
                await cooldowns.cool(name, retry_after=retry_after_seconds(exc), reason=result.error)
            if not _refused(exc):
                break  # busy, down or timed out: another method would fare no better
            refused.add(method)
            continue  # refused: the server charged nothing
        else:
            result.output, result.method, result.error = output, method, None
            if method != "grammar" and len(methods) > 1:
                registry.remember_structured_method(name, method)
        # The server did the work (valid output or not): count it, from its own usage when reported.
        reported = _usage_of(message)
        if reported is not None:
            tokens_in, tokens_out = tokens_in + reported[0], tokens_out + reported[1]
        else:
            tokens_in += count(prompt)
            tokens_out += count(result.output.model_dump_json()) if result.output is not None else 0
        if result.output is not None:
            break
    result.model_ms = (time.perf_counter() - started) * 1000
    usage.queue_usage(
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
