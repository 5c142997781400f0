"""Process settings from OBSERVER_* environment variables and `.env` (pydantic-settings)."""

from __future__ import annotations

import difflib
import os
import re
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from agent.errors import ConfigError

REPO_PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"


class Settings(BaseSettings):
    """Everything the process reads from its environment. Field `x` is `OBSERVER_X`."""

    model_config = SettingsConfigDict(
        env_prefix="OBSERVER_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = Path("./data")
    config: Path | None = Field(default=None, description="TOML file with the model list")
    database_url: str | None = None
    # At start, how long a SQLite record locked by another writer is waited for before one clear line.
    start_lock_wait_seconds: float = Field(default=10.0, ge=0, le=600)
    prompts_dir: Path = REPO_PROMPTS_DIR
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "WARNING"
    # Members' words (gateway events, SQL parameters, request bodies) stay out of logs unless true.
    log_content: bool = False
    bot_name: str = Field(default="Observer", min_length=1, max_length=32)
    history_limit: int = Field(default=20, ge=1, le=200)
    # In a channel with a cast: how many characters may answer each other after a member speaks.
    cast_chain_turns: int = Field(default=2, ge=0, le=10)
    chroma_url: str | None = Field(default=None, description="Chroma server URL; local files when unset")
    local_model_path: Path | None = None
    local_model_threads: int = Field(default=0, ge=0, le=256)
    local_context_tokens: int = Field(default=2048, ge=256, le=131072)
    # Training (issue T): how often active jobs are looked at; how long a process's hold on a job lasts
    # without renewal (a killed process's jobs are taken over after it); a local trainer's CPU threads;
    # whether training data keeps members' names (default: "Member 1", "Member 2" …).
    training_poll_seconds: float = Field(default=15.0, gt=0, le=3600)
    training_lease_seconds: float = Field(default=60.0, gt=0, le=3600)
    training_threads: int = Field(default=2, ge=1, le=256)
    training_keep_names: bool = False
    # Model routing
    daily_budget_usd: float | None = Field(default=None, ge=0, description="per guild, per UTC day")
    max_busy_wait_seconds: float = Field(default=120.0, ge=0, le=3600)
    model_retries: int = Field(default=2, ge=0, le=10)
    # Memory: embeddings (local = bundled multilingual-e5-small; openai = any compatible endpoint)
    embedding_provider: Literal["local", "openai"] = "local"
    embedding_model: str = "text-embedding-3-small"
    embedding_base_url: str | None = None
    embedding_api_key_env: str = Field(default="OPENAI_API_KEY", description="variable holding the key")
    # Unset: "query: " / "passage: " for e5 models (which need them), nothing for others.
    embedding_query_prefix: str | None = None
    embedding_passage_prefix: str | None = None
    retrieval_tokens: int = Field(default=600, ge=0, le=20_000, description="lore, knowledge and guidance per reply")
    # Persona files, cards, World Info and documents (/persona add, /dataset add, `persona ingest`): caps
    # checked while decoding, so one file cannot exhaust memory or flood every prompt.
    persona_file_max_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    persona_text_file_max_bytes: int = Field(default=8 * 1024 * 1024, ge=1024, description="JSON, TOML, Markdown, text")
    card_png_text_max_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    card_png_max_chunks: int = Field(default=1000, ge=4)
    card_field_max_chars: int = Field(default=60_000, ge=100)
    lore_max_entries: int = Field(default=2000, ge=1)
    lore_max_chars: int = Field(default=2_000_000, ge=100)
    document_max_pages: int = Field(default=500, ge=1)
    document_max_chars: int = Field(default=2_000_000, ge=100)
    # World Info: how many recent messages are scanned for keys (an entry's own scanDepth wins), and how
    # many times activated entries are scanned again for further keys (SillyTavern's recursion).
    lore_scan_depth: int = Field(default=4, ge=0, le=100)
    lore_recursion_steps: int = Field(default=3, ge=0, le=10)
    # Time one World Info key may take on one message, and all keys of one message together; a key over
    # it (a regular expression that backtracks) counts as not matching.
    lore_key_timeout_seconds: float = Field(default=0.05, gt=0, le=10)
    lore_match_budget_seconds: float = Field(default=1.0, gt=0, le=60)
    # Voice: speech-to-text (faster-whisper) and text-to-speech (Piper)
    whisper_model: str | None = Field(
        default=None, description="size name (small, medium, ...) or a CTranslate2 folder; unset: bundled tiny.en"
    )
    whisper_language: str | None = Field(default=None, description="force a language code; unset: detect")
    whisper_threads: int = Field(default=0, ge=0, le=256)
    piper_voice: Path | None = Field(default=None, description="a Piper .onnx voice; unset: bundled en_US joe")
    piper_voices: dict[str, Path] = Field(
        default_factory=dict, description='voices by language, JSON: {"ja": "/voices/ja.onnx"}'
    )
    voice_max_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    voice_max_seconds: float = Field(default=300.0, ge=1.0)
    voice_with_text: bool = Field(default=True, description="send the text along with a voice reply")
    # Files members attach: text files and PDFs are read (within these caps) when the bot considers the message.
    attachment_max_bytes: int = Field(default=8 * 1024 * 1024, ge=1024, description="download cap per file")
    attachment_max_chars: int = Field(default=20_000, ge=100, le=1_000_000, description="text read per file")
    attachments_per_message: int = Field(default=5, ge=0, le=50, description="files read per message")
    attachment_pdf_pages: int = Field(default=50, ge=1, le=10_000)
    attachment_pdf_memory_mb: int = Field(default=512, ge=128, le=16_384, description="a PDF reader's memory cap")
    attachment_read_seconds: float = Field(default=30.0, gt=0, le=600, description="per file: download and read")
    # Member profiles: refreshed in the background every N messages from a member (0: never)
    profile_every_n: int = Field(default=20, ge=0, le=10_000)
    # Discord door
    discord_api_base: str | None = Field(default=None, description="REST base of a Discord-compatible server")
    discord_gateway_url: str | None = Field(default=None, description="gateway URL of a Discord-compatible server")
    dev_guild_id: int | None = Field(default=None, description="sync slash commands to this guild only")
    # Several processes, one bot: how many shards the bot has in all (unset: Discord's recommendation),
    # and which of them this process connects ("0,2", "0-3", or both mixed; unset: all of them; "auto":
    # processes sharing the database deal the shards out among themselves with leases).
    shard_count: int | None = Field(default=None, ge=1, le=65_536)
    shard_ids: Annotated[list[int] | Literal["auto"] | None, NoDecode] = None
    # A process that stops beating for this long is dead: its shard leases and its questions are taken over.
    process_lease_seconds: float = Field(default=15.0, ge=2.0, le=600.0)
    channel_queue_size: int = Field(default=5, ge=1, le=100)
    # Different members' questions in one channel are answered side by side (one member's stay in order)
    channel_parallel_replies: int = Field(default=3, ge=1, le=20)
    edit_interval_seconds: float = Field(default=1.0, ge=0.2, le=10.0)
    # How long a tool call that changes something waits for a member's approval before it is denied.
    approval_timeout_seconds: float = Field(default=300.0, gt=0, le=86400.0)
    auto_every_n: int = Field(default=5, ge=1, le=1000)
    auto_quiet_seconds: float = Field(default=120.0, ge=0)
    reply_chain_limit: int = Field(default=6, ge=0, le=50)
    # Discord message links in a member's message: how many are read, and each one's characters at most.
    linked_messages: int = Field(default=3, ge=0, le=10)
    linked_message_chars: int = Field(default=1500, ge=100, le=20_000)
    context_tokens: int = Field(default=3000, ge=200, le=1_000_000)
    # Crashes and restarts: unfinished questions younger than this are answered after a restart,
    # older ones are closed with a note ("900", "900s", "15m", "1h" or ISO 8601 "PT15M").
    resume_window: timedelta = Field(default=timedelta(minutes=15))
    # Reminders: one due while the bot was down still fires this late, with a note; later, it is missed.
    reminder_grace: timedelta = Field(default=timedelta(hours=1))
    reminders_per_member: int = Field(default=25, ge=1, le=1000, description="open reminders a member may have")

    @field_validator("local_model_path")
    @classmethod
    def _model_file_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.expanduser().is_file():
            raise ValueError(f"{value} is not a file (a .gguf model; unset it for the bundled model)")
        return value

    @field_validator("dashboard_public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        # Login links and the OAuth redirect are built on it: only a web address.
        if value is not None and not re.fullmatch(r"https?://[^\s/?#]+(?:/[^\s?#]*)?", value):
            raise ValueError(f"{value!r} is not a web address; write e.g. https://bot.example.org")
        return value.rstrip("/") if value else value

    @field_validator("resume_window", "reminder_grace", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        if isinstance(value, str):
            match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h)?\s*", value, flags=re.IGNORECASE)
            if match:
                unit = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}[(match.group(2) or "s").lower()]
                return timedelta(seconds=float(match.group(1)) * unit)
        return value

    @field_validator("shard_ids", mode="before")
    @classmethod
    def _shard_list(cls, value: object) -> object:
        """ "0,2", "0-3", "0-1,4" → [0, 2], [0, 1, 2, 3], [0, 1, 4]; a list passes as it is."""
        if isinstance(value, str):
            if value.strip().lower() == "auto":
                return "auto"
            return parse_shard_ids(value) if value.strip() else None
        return value

    @field_validator("shard_ids")
    @classmethod
    def _shards_fit_the_count(
        cls, value: list[int] | Literal["auto"] | None, info: ValidationInfo
    ) -> list[int] | Literal["auto"] | None:
        if value is None:
            return None
        if value == "auto":
            if info.data.get("shard_count", 0) is None:
                raise ValueError("auto needs OBSERVER_SHARD_COUNT, the bot's total number of shards")
            return value
        if "shard_count" not in info.data:
            return value  # the count itself is wrong: that error is reported
        count = info.data["shard_count"]
        if count is None:
            raise ValueError("shard ids need OBSERVER_SHARD_COUNT, the bot's total number of shards")
        if duplicates := sorted({i for i in value if value.count(i) > 1}):
            raise ValueError(f"shard {duplicates[0]} is listed twice")
        if too_high := [i for i in value if i >= count]:
            raise ValueError(f"shard {too_high[0]} is not below OBSERVER_SHARD_COUNT={count} (0 to {count - 1})")
        return sorted(value)

    shutdown_grace_seconds: float = Field(default=20.0, ge=0, le=600, description="SIGTERM: time to finish replies")
    catchup_messages: int = Field(default=200, ge=0, le=5000, description="per channel, read after downtime")
    # A write the database refuses (locked, full, unreachable) is retried with backoff; after this long
    # the member whose message it was is told, and the message is kept in memory and written later.
    record_retry_seconds: float = Field(default=10.0, ge=0, le=3600)
    # PostgreSQL connections the reply checkpointer's pool may open (each checked before use).
    checkpoint_pool_size: int = Field(default=5, ge=1, le=100)
    # The bot's replies and usage rows kept in memory while the database refuses them.
    record_backlog: int = Field(default=10_000, ge=100, le=1_000_000)
    discord_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("DISCORD_TOKEN", "OBSERVER_DISCORD_TOKEN")
    )
    # A file holding the token instead (Docker and compose secrets: /run/secrets/discord_token).
    discord_token_file: Path | None = Field(default=None, validation_alias="DISCORD_TOKEN_FILE")
    # Where `observer run` writes whether it is connected, for `observer health` (unset: DATA_DIR/run/).
    health_file: Path | None = None

    # The web dashboard (`observer dashboard`; beside the bot in `observer run` when the port is set).
    dashboard_port: int | None = Field(default=None, ge=1, le=65535)
    dashboard_host: str = "127.0.0.1"
    # The address people open (behind a proxy: https://…): login links and the OAuth redirect use it;
    # https makes the session cookie Secure.
    dashboard_public_url: str | None = None
    # Signs sessions; unset: generated once into DATA_DIR/dashboard_secret (mode 0600).
    dashboard_secret: SecretStr | None = None
    dashboard_link_minutes: float = Field(default=10.0, gt=0, le=1440, description="a login link's lifetime")
    dashboard_session_hours: float = Field(default=12.0, gt=0, le=24 * 30)
    dashboard_poll_seconds: float = Field(default=0.25, ge=0.05, le=30, description="the live feed's look interval")
    # "Log in with Discord": the application's OAuth2 client (Developer Portal → OAuth2).
    dashboard_client_id: str | None = None
    dashboard_client_secret: SecretStr | None = None
    dashboard_redirect_uri: str | None = Field(default=None, description="unset: PUBLIC_URL/auth/discord/callback")
    dashboard_oauth_url: str = "https://discord.com/oauth2/authorize"
    dashboard_api_base: str = "https://discord.com/api/v10"

    @field_validator("discord_token_file", "health_file", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _token_from_file(self) -> Settings:
        if self.discord_token_file is None:
            return self
        if self.discord_token is not None and self.discord_token.get_secret_value().strip():
            raise ValueError("DISCORD_TOKEN and DISCORD_TOKEN_FILE are both set; keep one")
        try:
            token = self.discord_token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            who = f" (it must be readable by uid {os.getuid()}, the user Observer runs as)" if exc.errno == 13 else ""
            raise ValueError(
                f"DISCORD_TOKEN_FILE: cannot read {self.discord_token_file}: {exc.strerror or exc}{who}"
            ) from None
        except UnicodeDecodeError:
            raise ValueError(f"DISCORD_TOKEN_FILE: {self.discord_token_file} is not a text file") from None
        if not token:
            raise ValueError(f"DISCORD_TOKEN_FILE: {self.discord_token_file} is empty; put the bot's token in it")
        self.discord_token = SecretStr(token)
        return self

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'observer.db').resolve()}"

    def resolved_config_path(self) -> Path | None:
        """The model-list file: OBSERVER_CONFIG, else ./observer.toml when present."""
        if self.config is not None:
            if not self.config.is_file():
                raise ConfigError(
                    f"OBSERVER_CONFIG: no file at {self.config}; point it at your observer.toml or unset it"
                )
            return self.config
        default = Path("observer.toml")
        return default if default.is_file() else None


def parse_shard_ids(text: str) -> list[int]:
    """A shard list as written in the environment: ids and ranges separated by commas ("0,2", "0-3").

    Raises ValueError (one line) for anything else: empty parts, negative ids, a range going down."""
    ids: list[int] = []
    for part in text.split(","):
        match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if match is None:
            hint = " (auto stands alone: OBSERVER_SHARD_IDS=auto)" if part.strip().lower() == "auto" else ""
            raise ValueError(f"{part.strip()!r} is not a shard id or a range such as 0-3{hint}")
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) is not None else first
        if last < first:
            raise ValueError(f"the range {part.strip()} goes down; write it {last}-{first}")
        if last - first > 65_536:
            raise ValueError(f"the range {part.strip()} is larger than any bot's shard count")
        ids.extend(range(first, last + 1))
    return ids


_ENV_NAMES = {name: f"OBSERVER_{name.upper()}" for name in Settings.model_fields}
_ENV_NAMES["discord_token"] = "DISCORD_TOKEN"
_ENV_NAMES["discord_token_file"] = "DISCORD_TOKEN_FILE"


def load_settings() -> Settings:
    """Read settings, turning the first validation problem into a one-line ConfigError."""
    try:
        settings = Settings()
    except PermissionError as exc:  # ./.env in a folder this user may not read (a mounted /config)
        name = exc.filename or ".env"
        raise ConfigError(
            f"{name}: {exc.strerror}; make it (and its folder) readable by uid {os.getuid()}, the user Observer runs as"
        ) from None
    except ValidationError as exc:
        err = exc.errors()[0]
        if not err["loc"]:  # a check across fields: its message names them; the input would hold secrets
            raise ConfigError(str(err["msg"]).removeprefix("Value error, ")) from None
        field = str(err["loc"][0]) if err["loc"] else "?"
        env = _ENV_NAMES.get(field, field)
        message = str(err["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{env}: {message} (got {err.get('input')!r}); fix it in the environment or .env") from None
    _refuse_unknown_observer_vars()
    return settings


def _refuse_unknown_observer_vars() -> None:
    """A typo such as OBSERVER_DATA_DRI would silently do nothing: refuse it with a suggestion."""
    known = set(_ENV_NAMES.values()) | {"OBSERVER_TEST_POSTGRES_URL", "OBSERVER_TEST_SCREENSHOTS"}
    for name in os.environ:
        if name.startswith("OBSERVER_") and name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f"; did you mean {close[0]}?" if close else "; remove it"
            raise ConfigError(f"{name}: unknown setting{hint}")


@lru_cache(maxsize=1)
def cached_settings() -> Settings:
    """Settings for code that has no explicit handle (LangGraph Studio loading the graph)."""
    return load_settings()
