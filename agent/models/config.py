"""One model's entry in the model list (`[[models]]` of observer.toml), validated strictly, and the
models part of the file that the model registry reads (`ModelChoice`); the whole file is
`agent.config.ObserverConfig`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agent.models.bundled import CATALOGUE, DEFAULT, bundled

LOCAL_MODEL_NAME = "local"


class ModelSpec(BaseModel):
    """One entry of `[[models]]`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    provider: Literal["openai", "local"] = "openai"
    model: str = ""
    base_url: str | None = None
    api_key_env: str | None = None
    context_window: int = Field(default=8192, ge=256)
    max_output_tokens: int = Field(default=512, ge=1)
    cost_per_1k_input: float = Field(default=0.0, ge=0)
    cost_per_1k_output: float = Field(default=0.0, ge=0)
    about: str = ""
    temperature: float = Field(default=0.7, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    # Longest wait for the next token (the first included) before the call counts as failed.
    timeout_s: float = Field(default=60.0, gt=0)
    # Longest a whole reply may take, however steadily tokens arrive; it then ends where it is.
    max_reply_seconds: float = Field(default=120.0, gt=0)
    # Which request field carries max_output_tokens. auto: `max_completion_tokens` for OpenAI's own
    # API, `max_tokens` elsewhere (llama.cpp, Ollama and LM Studio read only that; vLLM reads both).
    token_limit_param: Literal["auto", "max_tokens", "max_completion_tokens"] = "auto"
    # "tiktoken", "tiktoken:<encoding>" or "approx"; default: tiktoken for OpenAI model ids, approx otherwise.
    tokenizer: str | None = None
    vision: bool = False
    # How the judge gets JSON out of this model. auto: JSON schema, else JSON mode with the schema
    # in the prompt, else an unstreamed tool call; what worked is remembered for the model.
    structured_output: Literal["auto", "json_schema", "json_mode", "function_calling"] = "auto"
    # Offer tools (built-in and MCP) to this model; a model without tool calling (a base model): false.
    tools: bool = False
    # provider = "local" only: "template" (the GGUF's chat template), "transcript" (a base model), "auto".
    chat_format: Literal["auto", "template", "transcript"] = "auto"
    # A reasoning model's thoughts, before its answer: "off" (never shown), "spoiler" (a short summary
    # hidden as a Discord spoiler `||…||`), "summary" (the summary as a small grey line).
    show_reasoning: Literal["off", "spoiler", "summary"] = "off"
    # The longest reasoning summary shown (characters).
    reasoning_summary_chars: int = Field(default=300, ge=20, le=1500)
    # `/train start base:` may fine-tune it: remote models through the provider's fine-tuning API
    # (files, fine_tuning/jobs), the bundled model locally (LoRA).
    fine_tunable: bool = False
    # What the provider charges for training, per 1,000 trained tokens (a job's cost = trained tokens × this).
    training_cost_per_1k: float = Field(default=0.0, ge=0)
    # provider = "local" only: a llama.cpp LoRA adapter (GGUF) applied over the model; a finished local
    # training job's entry sets it to the adapter it wrote.
    lora_adapter: str | None = None
    # A model trained on one server's data answers in that server only (set for a finished training
    # job's model); None: every server.
    guild_id: int | None = None

    @model_validator(mode="after")
    def _remote_needs_endpoint(self) -> ModelSpec:
        if self.provider == "openai" and not self.model:
            raise ValueError("a remote model needs `model` (the provider's model id)")
        if self.provider != "local" and self.lora_adapter:
            raise ValueError('`lora_adapter` applies to a local model (provider = "local") only')
        if self.provider == "local" and not self.model.endswith(".gguf"):
            entry = bundled(self.model or DEFAULT.key)
            if entry is None:
                names = ", ".join(CATALOGUE)
                raise ValueError(f"no bundled model {self.model!r}; choose one of {names}, or a path to a .gguf file")
            if self.tools and (self.chat_format == "transcript" or entry.chat_format == "transcript"):
                raise ValueError(f"{entry.key} is a base model and cannot call tools; set `tools = false` for it")
            if not entry.installed():
                raise ValueError(f"bundled model {entry.key} is not installed; {entry.install}")
        if self.provider == "local" and self.model.endswith(".gguf") and not Path(self.model).expanduser().is_file():
            raise ValueError(f"model file {self.model} does not exist (a .gguf path, or a bundled model's name)")
        return self

    @property
    def is_openai_api(self) -> bool:
        """OpenAI's own endpoint (no base_url, or api.openai.com), as opposed to a compatible server."""
        if self.provider != "openai":
            return False
        return self.base_url is None or urlparse(self.base_url).hostname == "api.openai.com"

    def token_limit_field(self) -> str:
        if self.token_limit_param != "auto":
            return self.token_limit_param
        return "max_completion_tokens" if self.is_openai_api else "max_tokens"

    @property
    def free(self) -> bool:
        return self.cost_per_1k_input == 0 and self.cost_per_1k_output == 0

    @property
    def unit_cost(self) -> float:
        return self.cost_per_1k_input + self.cost_per_1k_output

    def cost(self, tokens_in: int, tokens_out: int) -> float:
        return tokens_in / 1000 * self.cost_per_1k_input + tokens_out / 1000 * self.cost_per_1k_output

    def api_key(self) -> str:
        """The key from the named environment variable; local servers accept any placeholder."""
        if not self.api_key_env:
            return "not-needed"
        return os.environ.get(self.api_key_env, "")


def bundled_local_spec() -> ModelSpec:
    return ModelSpec(
        name=LOCAL_MODEL_NAME,
        provider="local",
        model=DEFAULT.key,
        context_window=2048,
        max_output_tokens=200,
        # Nothing else can answer offline, and on a small, busy CPU the prompt alone can take a minute:
        # waiting is better than failing.
        timeout_s=300,
        about=f"bundled offline model ({DEFAULT.title}); always available, small",
    )


@dataclass(frozen=True)
class ModelChoice:
    """The models part of the configuration: the model registry's whole input."""

    models: tuple[ModelSpec, ...]
    default_model: str
    judge_model: str
    fallback_order: tuple[str, ...] = ()

    def spec(self, name: str) -> ModelSpec | None:
        return next((m for m in self.models if m.name == name), None)

    @classmethod
    def of(cls, *models: ModelSpec) -> ModelChoice:
        """Just these models, the first answering and judging (tests, benches)."""
        return cls(models=models, default_model=models[0].name, judge_model=models[0].name)
