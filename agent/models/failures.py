"""Model-call failures in words an operator can act on, whichever client raised them."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

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


def server_reason(exc: BaseException) -> str | None:
    """One line of what the server said about the refusal, if it said anything."""
    reason = _reason_in(getattr(exc, "body", None))
    if reason is None:
        match = re.search(r"Error code: \d{3} - (.*)$", str(exc), flags=re.DOTALL)
        if match:
            reason = _reason_in(match.group(1)) or match.group(1)
    if not reason:
        return None
    line = " ".join(reason.split())
    return line if len(line) <= REASON_CHARS else line[: REASON_CHARS - 1] + "…"


def describe_failure(exc: BaseException) -> str:
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
    text = str(exc).strip().splitlines()[0][:REASON_CHARS] if str(exc).strip() else ""
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
