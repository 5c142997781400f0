"""The model list: a TOML file naming every model the judge may pick, validated strictly."""

from __future__ import annotations

import difflib
import os
import tomllib
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from agent.access.policy import AccessPolicy, FloodPolicy, QuotaPolicy
from agent.addressing import DEFAULT_PREFIXES
from agent.errors import ConfigError
from agent.models.bundled import CATALOGUE, DEFAULT, bundled
from agent.redact import remember_env_secrets
from agent.tools.config import McpServerSpec

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

    @model_validator(mode="after")
    def _remote_needs_endpoint(self) -> ModelSpec:
        if self.provider == "openai" and not self.model:
            raise ValueError("a remote model needs `model` (the provider's model id)")
        if self.provider == "local" and not self.model.endswith(".gguf"):
            entry = bundled(self.model or DEFAULT.key)
            if entry is None:
                names = ", ".join(CATALOGUE)
                raise ValueError(f"no bundled model {self.model!r}; choose one of {names}, or a path to a .gguf file")
            if self.tools and (self.chat_format == "transcript" or entry.chat_format == "transcript"):
                raise ValueError(f"{entry.key} is a base model and cannot call tools; set `tools = false` for it")
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


class ModelsConfig(BaseModel):
    """Top level of the TOML file."""

    model_config = ConfigDict(extra="forbid")

    judge_model: str | None = None
    default_model: str | None = None
    fallback_order: list[str] = Field(default_factory=list)
    # Members may name a model in /chat when true; channels can always be pinned by Manage Server.
    member_model_choice: bool = False
    # Daily budget in USD per guild id, overriding OBSERVER_DAILY_BUDGET_USD.
    guild_budgets: dict[str, float] = Field(default_factory=dict)
    # Prefix commands that address the bot like a mention (`!chat hello`), and per guild id.
    prefixes: list[str] = Field(default_factory=lambda: list(DEFAULT_PREFIXES))
    guild_prefixes: dict[str, list[str]] = Field(default_factory=dict)
    models: list[ModelSpec] = Field(default_factory=list)
    mcp_servers: list[McpServerSpec] = Field(default_factory=list)
    # Tool rounds per reply (model asks, tools answer) before the model must answer with what it has.
    tool_rounds: int = Field(default=4, ge=1, le=16)
    # Longest tool result the model reads (tokens, roughly; the middle is cut).
    tool_result_tokens: int = Field(default=1000, ge=50)
    # Who may talk to the bot and how much (per server, `/observer access` and `/observer quota` override).
    access: AccessPolicy = Field(default_factory=AccessPolicy)
    quotas: QuotaPolicy = Field(default_factory=QuotaPolicy)
    flood: FloodPolicy = Field(default_factory=FloodPolicy)

    @model_validator(mode="after")
    def _check_names(self) -> ModelsConfig:
        if not self.models:
            self.models = [bundled_local_spec()]
        names = [m.name for m in self.models]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"model names must be unique; repeated: {', '.join(sorted(dupes))}")
        self.default_model = self.default_model or names[0]
        self.judge_model = self.judge_model or self.default_model
        for key in ("default_model", "judge_model"):
            value = getattr(self, key)
            if value not in names:
                raise ValueError(f"{key} = {value!r} is not one of the models: {', '.join(names)}")
        for where, prefixes in [
            ("prefixes", self.prefixes),
            *((f"guild_prefixes.{g}", p) for g, p in self.guild_prefixes.items()),
        ]:
            bad = [p for p in prefixes if not p.strip() or len(p) > 32]
            if bad:
                raise ValueError(f"{where}: each prefix must be 1-32 characters, not {bad[0]!r}")
        servers = [s.name for s in self.mcp_servers]
        if len(set(servers)) != len(servers):
            raise ValueError("MCP server names must be unique")
        for name in self.fallback_order:
            if name not in names:
                raise ValueError(f"fallback_order names {name!r}, which is not one of the models")
        return self

    def prefixes_for(self, guild_id: int | None) -> list[str]:
        """The prefix commands that address the bot in this guild (DMs: the defaults)."""
        if guild_id is not None and str(guild_id) in self.guild_prefixes:
            return self.guild_prefixes[str(guild_id)]
        return self.prefixes

    def spec(self, name: str) -> ModelSpec | None:
        return next((m for m in self.models if m.name == name), None)


def load_models_config(path: Path | None) -> ModelsConfig:
    """Parse and validate the file; with no file, the bundled local model is the only entry."""
    if path is None:
        return ModelsConfig()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the file or unset OBSERVER_CONFIG") from None
    try:
        config = ModelsConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {_describe(exc)}") from None
    for spec in config.models:
        if spec.provider == "openai" and spec.api_key_env and not os.environ.get(spec.api_key_env):
            raise ConfigError(
                f"{path}: model {spec.name!r} reads its key from ${spec.api_key_env}, which is not set; "
                "export it or remove api_key_env for a keyless local server"
            )
    # Whatever a server or an exception later says, these values are never shown (agent/redact.py).
    remember_env_secrets(spec.api_key_env for spec in config.models)
    return config


def _describe(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    if err["type"] == "extra_forbidden":
        field = str(err["loc"][-1])
        known = ModelSpec.model_fields if "models" in loc else ModelsConfig.model_fields
        close = difflib.get_close_matches(field, list(known), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"{loc}: unknown field{hint}"
    msg = str(err["msg"]).removeprefix("Value error, ")
    return f"{loc}: {msg}" if loc else msg
