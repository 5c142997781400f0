"""Logging: UTC ISO 8601 timestamps; secrets never reach the log."""

from __future__ import annotations

import logging
import time


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


def setup_logging(level: str, *, log_content: bool = False) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(_UTCFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Libraries that are chatty at INFO about things operators do not act on.
    for name in ("httpx", "chromadb", "alembic.runtime.migration"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    if not log_content:
        for name, floor in CONTENT_LOGGERS.items():
            logging.getLogger(name).setLevel(max(floor, root.level))
