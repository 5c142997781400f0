"""LangChain's ChatOpenAI, reading the reasoning fields OpenAI-compatible servers add.

ChatOpenAI keeps to OpenAI's own schema and drops every other delta field, so the reasoning that
llama.cpp, vLLM, Ollama, LM Studio, DeepSeek and OpenRouter send beside the content would vanish (and a
reasoning-only reply would look empty). Here it is kept in `additional_kwargs["reasoning_content"]`
of each chunk and message, whichever field it came in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import openai
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_openai import ChatOpenAI

from agent.models.reasoning import REASONING_KEY, reasoning_of


class ReasoningChatOpenAI(ChatOpenAI):
    def _convert_chunk_to_generation_chunk(
        self, chunk: dict[str, Any], default_chunk_class: type, base_generation_info: dict[str, Any] | None
    ) -> ChatGenerationChunk | None:
        generation = super()._convert_chunk_to_generation_chunk(chunk, default_chunk_class, base_generation_info)
        choices = chunk.get("choices") or (chunk.get("chunk") or {}).get("choices") or []
        if generation is not None and choices and isinstance(choices[0], Mapping):
            reasoning = reasoning_of(choices[0].get("delta"))
            if reasoning:
                generation.message.additional_kwargs[REASONING_KEY] = reasoning
        return generation

    def _create_chat_result(
        self, response: dict[str, Any] | openai.BaseModel, generation_info: dict[str, Any] | None = None
    ) -> ChatResult:
        result = super()._create_chat_result(response, generation_info)
        raw = (
            response
            if isinstance(response, dict)
            else response.model_dump(exclude={"choices": {"__all__": {"message": {"parsed"}}}}, warnings=False)
        )
        for generation, choice in zip(result.generations, raw.get("choices") or (), strict=False):
            reasoning = reasoning_of(choice.get("message"))
            if reasoning:
                generation.message.additional_kwargs[REASONING_KEY] = reasoning
        return result
