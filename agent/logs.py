"""Logging: UTC ISO 8601 timestamps; secrets never reach the log."""

from __future__ import annotations

import logging
import os
import re
import time

from agent.redact import install_redaction, remember_env_secrets, remember_secrets


class _UTCFormatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"


# Loggers whose DEBUG (or INFO) lines carry members' words: raw gateway events, REST bodies, SQL
# parameters, HTTP request bodies. Held at INFO/WARNING unless OBSERVER_LOG_CONTENT=true.
CONTENT_LOGGERS = {
    "discord.gateway": logging.INFO,
    "discord.http": logging.INFO,
    "discord.state": logging.INFO,
    "discord.client": logging.INFO,
    "discord.webhook": logging.INFO,
    "sqlalchemy.engine": logging.WARNING,
    "aiosqlite": logging.INFO,
    "openai": logging.INFO,
    "httpcore": logging.INFO,
    "langchain": logging.INFO,
}


def setup_logging(level: str, *, log_content: bool = False, secrets: tuple[str | None, ...] = ()) -> None:
    """One handler on the root; it redacts every configured key and token and anything credential-shaped."""
    remember_secrets(secrets)
    remember_env_secrets(["DISCORD_TOKEN", "OBSERVER_DISCORD_TOKEN", "OPENAI_API_KEY", *_key_variables()])
    handler = logging.StreamHandler()
    handler.setFormatter(_UTCFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    install_redaction(root)
    root.setLevel(level)
    # Libraries that are chatty at INFO about things operators do not act on.
    for name in ("httpx", "chromadb", "alembic.runtime.migration", "alembic.runtime.plugins"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    if not log_content:
        for name, floor in CONTENT_LOGGERS.items():
            logging.getLogger(name).setLevel(max(floor, root.level))


def _key_variables() -> list[str]:
    """Environment variables that by their name hold a credential (OBSERVER_EMBEDDING_API_KEY_ENV's target too)."""
    names = [n for n in os.environ if re.search(r"(?i)(api_?key|token|secret|password)", n)]
    target = os.environ.get("OBSERVER_EMBEDDING_API_KEY_ENV")
    return [*names, *([target] if target else [])]
