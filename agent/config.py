"""observer.toml, the operator's file: the model list and everything around it (routing, prefix
commands, MCP servers and tool limits, access, quotas, flood control), validated strictly. Where it is:
OBSERVER_CONFIG; without a file, the bundled local model is the only entry."""

from __future__ import annotations

import difflib
import os
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from agent.access.policy import AccessPolicy, FloodPolicy, QuotaPolicy
from agent.addressing import DEFAULT_PREFIXES
from agent.errors import ConfigError
from agent.models.config import ModelChoice, ModelSpec, bundled_local_spec
from agent.redact import remember_env_secrets
from agent.tools.config import McpServerSpec, WebFetchSpec, WebSearchSpec, WebToolsSpec


class ObserverConfig(BaseModel):
    """The whole of observer.toml: the model list, routing, prefixes, tools, access, quotas, flood."""

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
    # fetch_url and web_search (`[web.fetch]`, `[web.search]`): off unless turned on.
    web: WebToolsSpec = Field(default_factory=WebToolsSpec)
    # Who may talk to the bot and how much (per server, `/observer access` and `/observer quota` override).
    access: AccessPolicy = Field(default_factory=AccessPolicy)
    quotas: QuotaPolicy = Field(default_factory=QuotaPolicy)
    flood: FloodPolicy = Field(default_factory=FloodPolicy)

    @model_validator(mode="after")
    def _check_names(self) -> ObserverConfig:
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

    @property
    def model_choice(self) -> ModelChoice:
        """What the model registry reads: the models and which answers, judges and falls back."""
        assert self.default_model is not None and self.judge_model is not None  # set by validation
        return ModelChoice(tuple(self.models), self.default_model, self.judge_model, tuple(self.fallback_order))


def load_config(path: Path | None) -> ObserverConfig:
    """Parse and validate the file; with no file, the bundled local model is the only entry."""
    if path is None:
        return ObserverConfig()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the file or unset OBSERVER_CONFIG") from None
    try:
        config = ObserverConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {_describe(exc)}") from None
    for spec in config.models:
        if spec.provider == "openai" and spec.api_key_env and not os.environ.get(spec.api_key_env):
            raise ConfigError(
                f"{path}: model {spec.name!r} reads its key from ${spec.api_key_env}, which is not set; "
                "export it or remove api_key_env for a keyless local server"
            )
    search = config.web.search
    if search.on and search.api_key_env and not os.environ.get(search.api_key_env):
        raise ConfigError(
            f"{path}: web.search ({search.provider}) reads its key from ${search.api_key_env}, which is not set; "
            "export it or remove [web.search]"
        )
    # Whatever a server or an exception later says, these values are never shown (agent/redact.py).
    remember_env_secrets([*(spec.api_key_env for spec in config.models), search.api_key_env])
    return config


def _describe(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    if err["type"] == "extra_forbidden":
        field = str(err["loc"][-1])
        known = ModelSpec.model_fields if "models" in loc else ObserverConfig.model_fields
        for prefix, spec in (("web.fetch.", WebFetchSpec), ("web.search.", WebSearchSpec), ("web.", WebToolsSpec)):
            if loc.startswith(prefix):
                known = spec.model_fields
                break
        close = difflib.get_close_matches(field, list(known), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"{loc}: unknown field{hint}"
    msg = str(err["msg"]).removeprefix("Value error, ")
    return f"{loc}: {msg}" if loc else msg
