"""One redaction for everything a server or an exception says: logs, the record, /observer status, doors.

Removes every configured key and token (remembered at start), `Bearer …`, `sk-…`-like keys,
`Authorization:` / `api-key:` headers, passwords in URLs (`user:pass@`) and credential query
parameters (`?key=`, `&token=`). What is left is safe to show an operator; members never see a
server's text at all (they get a classified line from agent/member_texts.py).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable

MASK = "[redacted]"
# Shorter values are too likely to be ordinary words ("test", "1234") to be replaced everywhere.
MIN_SECRET_CHARS = 8

_known: set[str] = set()

_HEADER = re.compile(
    r"(?i)\b((?:proxy-)?authorization|x-api-key|api-key|apikey|x-goog-api-key|openai-api-key)"
    r"(\\?[\"']?\s*[:=]\s*\\?[\"']?)(?:(?:bearer|basic|token)\s+)?[^\s\"'\\,;}]+"
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]{6,}")
_KEYLIKE = re.compile(
    r"\b(?:sk|pk|rk)-[A-Za-z0-9_\-]{8,}"  # OpenAI, Anthropic (sk-ant-…), OpenRouter (sk-or-…), Stripe-like
    r"|\bgh[pousr]_[A-Za-z0-9]{20,}"  # GitHub
    r"|\bxox[abprs]-[A-Za-z0-9\-]{10,}"  # Slack
    r"|\bhf_[A-Za-z0-9]{20,}"  # Hugging Face
    r"|\bAIza[0-9A-Za-z_\-]{30,}"  # Google
    r"|\b[MNO][A-Za-z\d_\-]{23,27}\.[A-Za-z\d_\-]{6}\.[A-Za-z\d_\-]{27,}"  # Discord bot token
)
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^\s/@:]*:[^\s/@]*@")
_QUERY_CREDENTIALS = re.compile(
    r"(?i)([?&;](?:key|api[_-]?key|apikey|token|access[_-]?token|auth|secret|password|passwd|pwd|sig|signature)=)"
    r"[^&\s#\"']+"
)


def remember_secrets(values: Iterable[str | None]) -> None:
    """Values that must never be shown, whatever surrounds them (configured keys and tokens)."""
    for value in values:
        if value and len(value.strip()) >= MIN_SECRET_CHARS:
            _known.add(value.strip())


def remember_env_secrets(names: Iterable[str | None]) -> None:
    """The values of these environment variables (api_key_env names, DISCORD_TOKEN …)."""
    remember_secrets(os.environ.get(name) for name in names if name)


def redact(text: str) -> str:
    """`text` with every credential replaced by [redacted]."""
    if not text:
        return text
    for secret in sorted(_known, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    text = _HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)
    text = _KEYLIKE.sub(MASK, text)
    text = _URL_CREDENTIALS.sub(lambda m: f"{m.group(1)}{MASK}@", text)
    return _QUERY_CREDENTIALS.sub(lambda m: f"{m.group(1)}{MASK}", text)


class RedactingFilter(logging.Filter):
    """On a handler: the line it writes (message, arguments, traceback) carries no credential."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: show it as is, still redacted
            message = f"{record.msg} {record.args}"
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install_redaction(logger: logging.Logger | None = None) -> None:
    """Every handler of `logger` (the root by default) redacts what it writes."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
