"""The key that signs dashboard sessions: OBSERVER_DASHBOARD_SECRET, else made once into the data dir."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from agent.errors import ConfigError
from agent.settings import Settings

SECRET_FILE = "dashboard_secret"


def session_key(settings: Settings) -> bytes:
    """32+ bytes. The generated file is created with mode 0600 (exclusive create: two processes starting
    together end up with the same key)."""
    if settings.dashboard_secret is not None and settings.dashboard_secret.get_secret_value().strip():
        value = settings.dashboard_secret.get_secret_value().strip()
        if len(value) < 16:
            raise ConfigError("OBSERVER_DASHBOARD_SECRET: too short; use at least 16 random characters")
        return value.encode("utf-8")
    path = settings.data_dir / SECRET_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secrets.token_urlsafe(48))
    return _read(path)


def _read(path: Path) -> bytes:
    value = path.read_text(encoding="utf-8").strip()
    if len(value) < 16:
        raise ConfigError(f"{path}: the dashboard's session key is empty or short; delete the file to make a new one")
    return value.encode("utf-8")
