"""One redaction for every credential shape a server or an exception may echo."""

from __future__ import annotations

import io
import logging

import pytest

from agent.redact import RedactingFilter, redact, remember_secrets

SAMPLES = [
    ("Invalid API key in header 'Authorization: Bearer sk-abc123def456ghi789'", "sk-abc123def456ghi789"),
    ('{"headers": {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig"}}', "eyJhbGciOiJIUzI1NiJ9"),
    ("api-key: 0123456789abcdef0123456789abcdef rejected", "0123456789abcdef0123456789abcdef"),
    ("x-api-key=AbCdEfGhIjKlMnOp1234", "AbCdEfGhIjKlMnOp1234"),
    ("Incorrect API key provided: sk-proj-AAAABBBBCCCCDDDD1111", "sk-proj-AAAABBBBCCCCDDDD1111"),
    ("openrouter says sk-or-v1-0a1b2c3d4e5f6a7b8c9d", "sk-or-v1-0a1b2c3d4e5f6a7b8c9d"),
    ("cannot connect to postgresql://observer:s3cretpass@db:5432/obs", "s3cretpass"),
    ("GET https://api.example.com/v1/models?key=AIzaNotReallyAKey123&alt=json", "AIzaNotReallyAKey123"),
    ("redirect to /cb?access_token=tok_9f8e7d6c5b4a&state=1", "tok_9f8e7d6c5b4a"),
    (
        "401 Unauthorized for token MTEyMzQ1Njc4OTAxMjM0NTY3OA.GhIjKl.abcdefghijklmnopqrstuvwxyz0123456",
        "MTEyMzQ1Njc4OTAxMjM0NTY3OA",
    ),
    ("huggingface hf_abcdefghijklmnopqrstuvwxyz12 denied", "hf_abcdefghijklmnopqrstuvwxyz12"),
]


@pytest.mark.parametrize(("text", "secret"), SAMPLES)
def test_every_credential_shape_is_redacted(text: str, secret: str) -> None:
    out = redact(text)
    assert secret not in out and "[redacted]" in out


def test_configured_values_are_redacted_whatever_their_shape() -> None:
    remember_secrets(["plain-looking-token-value-42"])
    assert redact("server said: plain-looking-token-value-42 is wrong") == "server said: [redacted] is wrong"


def test_ordinary_text_is_left_alone() -> None:
    text = "HTTP 400 from the endpoint: This model's maximum context length is 2048 tokens."
    assert redact(text) == text


def test_the_log_filter_redacts_arguments_and_tracebacks() -> None:
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.addFilter(RedactingFilter())
    log = logging.getLogger("test.redact")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("model failed: %s", "Authorization: Bearer sk-live-0123456789abcdef")
        try:
            raise RuntimeError("Incorrect API key provided: sk-live-fedcba9876543210")
        except RuntimeError:
            log.exception("call failed")
    finally:
        log.removeHandler(handler)
    written = buffer.getvalue()
    assert "sk-live" not in written and written.count("[redacted]") >= 2 and "RuntimeError" in written
