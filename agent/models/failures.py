"""Model-call failures in words an operator can act on, whichever client raised them."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any, Literal

from agent.redact import redact

REASON_CHARS = 200


class InvalidResponse(Exception):
    """The server answered, but not with an OpenAI-compatible response (an HTML page, garbage)."""


def _http_status(exc: BaseException) -> int | None:
    """The HTTP status of a failed call; streamed failures only carry it in their message."""
    status = getattr(exc, "status_code", None)
    if status is None:
        match = re.search(r"Error code: (\d{3})", str(exc))
        status = int(match.group(1)) if match else None
    return status


def _reason_in(body: Any) -> str | None:
    """The server's own words from an error body: OpenAI's `error.message`, FastAPI's `detail`, or `message`."""
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return body if body.strip() and "<" not in body[:20] else None
    if isinstance(body, list):
        return "; ".join(filter(None, (_reason_in(item) for item in body))) or None
    if not isinstance(body, dict):
        return None
    for key in ("error", "detail", "message", "msg"):
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            return value
        if isinstance(value, dict | list):
            found = _reason_in(value)
            if found:
                return found
    return None


http_status = _http_status


def server_reason(exc: BaseException) -> str | None:
    """One line of what the server said about the refusal, if it said anything."""
    reason = _reason_in(getattr(exc, "body", None))
    if reason is None:
        match = re.search(r"Error code: \d{3} - (.*)$", str(exc), flags=re.DOTALL)
        if match:
            reason = _reason_in(match.group(1)) or match.group(1)
    if not reason:
        return None
    line = " ".join(redact(reason).split())  # before cutting: a cut key would no longer match
    return line if len(line) <= REASON_CHARS else line[: REASON_CHARS - 1] + "…"


def describe_failure(exc: BaseException) -> str:
    """For operators (log, record, /observer status): the server's words, with every credential redacted."""
    return redact(_describe(exc))


def _describe(exc: BaseException) -> str:
    status = _http_status(exc)
    name = type(exc).__name__
    if status == 429:
        retry = None
        response = getattr(exc, "response", None)
        if response is not None:
            retry = response.headers.get("retry-after")
        return "rate limited (HTTP 429" + (f", retry after {retry} s)" if retry else ")")
    if status is not None:
        reason = server_reason(exc)
        return f"HTTP {status} from the endpoint" + (f": {reason}" if reason else "")
    if isinstance(exc, InvalidResponse):
        return f"not a valid response ({exc})"
    if isinstance(exc, asyncio.TimeoutError | TimeoutError) or "Timeout" in name:
        return "timed out"
    if "Connection" in name or isinstance(exc, ConnectionError | OSError):
        return "cannot connect to the endpoint"
    text = redact(str(exc).strip().splitlines()[0])[:REASON_CHARS] if str(exc).strip() else ""
    return f"{name}: {text}" if text else name


def retry_after_seconds(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def classify(exc: BaseException) -> str:
    """'rate_limit' (cool down, fall back), 'transient' (retry, then fall back), 'invalid' (the server
    answered garbage: fall back at once, never wait for it) or 'fatal' (fall back)."""
    status = _http_status(exc)
    if status == 429:
        return "rate_limit"
    if status is not None:
        return "transient" if status >= 500 else "fatal"
    name = type(exc).__name__
    if isinstance(exc, InvalidResponse) or isinstance(exc, json.JSONDecodeError) or "Decode" in name:
        return "invalid"
    if (
        isinstance(exc, asyncio.TimeoutError | TimeoutError | ConnectionError)
        or "Timeout" in name
        or "Connection" in name
    ):
        return "transient"
    return "fatal"


# What a member is told about a failed model call: one of these kinds, never the server's text.
FailureKind = Literal[
    "busy",  # 429, 5xx: the server is there but overloaded
    "unavailable",  # cannot connect
    "timeout",  # no token in time
    "invalid_response",  # not an OpenAI-compatible answer (an HTML page)
    "misconfigured",  # 401/403: a wrong or missing key, a model the key may not use
    "too_long",  # the member's own message does not fit any model's window
    "refused",  # any other client error (4xx): the request itself was refused
    "over_budget",  # the server's daily budget is spent
    "only_reasoning",  # a reasoning model thought and wrote no answer (even after a retry with more room)
    "empty",  # the model answered nothing at all
    "failed",  # anything else
]

# Wordings of a context overflow, by server family (the status is 400; LM Studio sometimes 200/500).
_OVERFLOW = re.compile(
    r"(?i)context_length_exceeded|maximum context length|exceed_context_size_error"
    r"|exceeds? the available context size|context size has been exceeded"
    r"|input length exceeds the (?:maximum )?context length|exceeds? (?:the )?(?:model'?s? )?context (?:length|window)"
    r"|context length of only \d+|greater than the context length|n_keep: ?\d+ ?>= ?n_ctx"
    r"|(?:prompt|input) is too long|too many tokens|maximum number of tokens allowed"
    r"|reduce the length of the (?:messages|prompt|input)"
)
# Where the server names its real window: OpenAI/vLLM, llama.cpp, LM Studio, others.
_WINDOW = (
    re.compile(r"(?i)maximum context length is (\d+)"),
    re.compile(r"(?i)available context size \((\d+) tokens?\)"),
    re.compile(r"(?i)\"?n_ctx\"?\s*[:=]\s*(\d+)"),
    re.compile(r"(?i)context length of only (\d+)"),
    re.compile(r"(?i)maximum number of tokens allowed \((\d+)\)"),
    re.compile(r"(?i)context (?:length|window|size) (?:is|of) (\d+)"),
)


def _raw_text(exc: BaseException) -> str:
    body = getattr(exc, "body", None)
    return f"{exc} {json.dumps(body) if isinstance(body, dict | list) else body or ''}"


def is_context_overflow(exc: BaseException) -> bool:
    status = _http_status(exc)
    return (status is None or 400 <= status < 600) and bool(_OVERFLOW.search(_raw_text(exc))) and status != 429


def window_in(exc: BaseException) -> int | None:
    """The model's real context window, where the overflow error names it."""
    text = _raw_text(exc)
    for pattern in _WINDOW:
        match = pattern.search(text)
        if match and int(match.group(1)) >= 64:
            return int(match.group(1))
    return None


def failure_kind(exc: BaseException) -> FailureKind:
    """The member-facing kind of a failed call."""
    status = _http_status(exc)
    if is_context_overflow(exc):
        return "too_long"
    if status == 429 or (status is not None and status >= 500):
        return "busy"
    if status in (401, 403, 404):  # 404: the model id or the endpoint path is wrong
        return "misconfigured"
    if status is not None:
        return "refused"
    kind = classify(exc)
    if kind == "invalid":
        return "invalid_response"
    if isinstance(exc, asyncio.TimeoutError | TimeoutError) or "Timeout" in type(exc).__name__:
        return "timeout"
    if kind == "transient":
        return "unavailable"
    return "failed"
