"""Model-call failures in words an operator can act on, whichever client raised them."""

from __future__ import annotations

import asyncio
import re


def _http_status(exc: BaseException) -> int | None:
    """The HTTP status of a failed call; streamed failures only carry it in their message."""
    status = getattr(exc, "status_code", None)
    if status is None:
        match = re.search(r"Error code: (\d{3})", str(exc))
        status = int(match.group(1)) if match else None
    return status


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
        return f"HTTP {status} from the endpoint"
    if isinstance(exc, asyncio.TimeoutError | TimeoutError) or "Timeout" in name:
        return "timed out"
    if "Connection" in name or isinstance(exc, ConnectionError | OSError):
        return "cannot connect to the endpoint"
    text = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
    return f"{name}: {text}" if text else name


def retry_after_seconds(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def classify(exc: BaseException) -> str:
    """'rate_limit' (cool down, fall back), 'transient' (retry, then fall back) or 'fatal' (fall back)."""
    status = _http_status(exc)
    if status == 429:
        return "rate_limit"
    if status is not None:
        return "transient" if status >= 500 else "fatal"
    name = type(exc).__name__
    if (
        isinstance(exc, asyncio.TimeoutError | TimeoutError | ConnectionError)
        or "Timeout" in name
        or "Connection" in name
    ):
        return "transient"
    return "fatal"
