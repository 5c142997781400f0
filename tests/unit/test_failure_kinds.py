"""Model-server errors as each family words them, classified into what a member is told."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest

from agent.member_texts import capped_note, without_notes
from agent.models.failures import failure_kind, window_in


def status_error(status: int, body: Any) -> openai.APIStatusError:
    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
    response = httpx.Response(status, request=request, json=body)
    cls = {400: openai.BadRequestError, 401: openai.AuthenticationError, 429: openai.RateLimitError}.get(
        status, openai.APIStatusError
    )
    return cls(f"Error code: {status} - {body}", response=response, body=body)


OVERFLOWS = [
    # OpenAI
    (
        {
            "error": {
                "message": "This model's maximum context length is 8192 tokens. However, your messages resulted "
                "in 9000 tokens.",
                "code": "context_length_exceeded",
            }
        },
        8192,
    ),
    # vLLM, newer wording
    (
        {
            "object": "error",
            "message": "'max_tokens' or 'max_completion_tokens' is too large: 2000. This model's "
            "maximum context length is 4096 tokens and your request has 2104 input tokens (2000 > 4096 - 2104).",
        },
        4096,
    ),
    # llama.cpp server
    (
        {
            "error": {
                "code": 400,
                "message": "request (4476 tokens) exceeds the available context size (4096 tokens), try increasing it",
                "type": "exceed_context_size_error",
                "n_prompt_tokens": 4476,
                "n_ctx": 4096,
            }
        },
        4096,
    ),
    (
        {
            "error": {
                "code": 400,
                "message": "the request exceeds the available context size, try increasing it",
                "type": "exceed_context_size_error",
            }
        },
        None,
    ),
    # LM Studio, both wordings
    (
        {
            "error": "Trying to keep the first 10136 tokens when context the overflows. However, the model is loaded "
            "with context length of only 7866 tokens, which is not enough."
        },
        7866,
    ),
    (
        {
            "error": "The number of tokens to keep from the initial prompt is greater than the context length "
            "(n_keep: 13055>= n_ctx: 4096). Try to load the model with a larger context length"
        },
        4096,
    ),
    # Ollama
    ({"error": {"message": "the input length exceeds the context length", "type": "api_error"}}, None),
    # Other OpenAI-compatible gateways
    (
        {"error": {"message": "The input token count (582632) exceeds the maximum number of tokens allowed (131072)."}},
        131072,
    ),
]


@pytest.mark.parametrize(("body", "window"), OVERFLOWS)
def test_context_overflows_are_too_long_and_name_the_window_where_said(body: Any, window: int | None) -> None:
    exc = status_error(400, body)
    assert failure_kind(exc) == "too_long"
    assert window_in(exc) == window


@pytest.mark.parametrize(
    ("status", "kind"), [(401, "misconfigured"), (403, "misconfigured"), (422, "refused"), (429, "busy"), (503, "busy")]
)
def test_only_busy_servers_are_busy(status: int, kind: str) -> None:
    assert failure_kind(status_error(status, {"error": {"message": "nope"}})) == kind


def test_connection_and_timeouts_are_their_own_kinds() -> None:
    request = httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions")
    assert failure_kind(openai.APIConnectionError(request=request)) == "unavailable"
    assert failure_kind(TimeoutError()) == "timeout"


def test_notes_the_door_adds_are_not_read_back_as_the_models_words() -> None:
    text = "The answer is forty" + capped_note("time", 120.0)
    assert text.endswith("-# (cut: took longer than 120 s)")
    assert without_notes(text) == "The answer is forty"
    assert without_notes("Fine" + capped_note("length")) == "Fine"
    assert without_notes("Keep -# (cut: this) in the middle\nand more") == "Keep -# (cut: this) in the middle\nand more"
