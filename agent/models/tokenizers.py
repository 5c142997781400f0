"""Counting tokens the way each model does, for fitting prompts into its window.

OpenAI models use tiktoken. Others (and OpenAI models when tiktoken's encoding files cannot be
fetched, as on an offline machine) use the approximation in `tokens.py`: one token per CJK
character, one per four other characters, which over-counts English a little and so errs on the
side of fitting.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import lru_cache

from agent.models.config import ModelSpec
from agent.models.tokens import approx_tokens

log = logging.getLogger(__name__)

Counter = Callable[[str], int]
_OPENAI_IDS = re.compile(r"^(gpt-|o\d|chatgpt-|text-embedding-)")


@lru_cache(maxsize=16)
def _tiktoken(model: str, encoding: str | None) -> Counter | None:
    try:
        import tiktoken

        enc = tiktoken.get_encoding(encoding) if encoding else tiktoken.encoding_for_model(model)
    except Exception as exc:  # unknown model id, or encoding files unreachable offline
        log.warning("tiktoken unavailable for %s (%s); using the approximate counter", model, exc)
        return None

    def count(text: str) -> int:
        return len(enc.encode(text, disallowed_special=()))

    return count


def counter_for(spec: ModelSpec) -> Counter:
    choice = spec.tokenizer or ("tiktoken" if _OPENAI_IDS.match(spec.model) and spec.provider == "openai" else "approx")
    if choice.startswith("tiktoken"):
        encoding = choice.split(":", 1)[1] if ":" in choice else None
        exact = _tiktoken(spec.model, encoding)
        if exact is not None:
            return exact
    return approx_tokens
