"""The health file: `observer run` writes whether it is connected; `observer health` (a container's
HEALTHCHECK) reads it without touching Discord or the database.

The file is JSON, rewritten whole (through a temporary file renamed into place) every
`WRITE_EVERY_SECONDS`:

    {"written_at": 1764500000.0, "connected": true, "stopping": false,
     "shards": {"0": {"open": true, "latency_ms": 41.0}}}

`written_at` is Unix time in seconds. A file older than `STALE_AFTER_SECONDS` means the process is
stuck or gone, whatever it says.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WRITE_EVERY_SECONDS = 10.0
STALE_AFTER_SECONDS = 45.0  # three writes missed, and a busy machine's slack


def health_path(data_dir: Path, configured: Path | None) -> Path:
    """OBSERVER_HEALTH_FILE, else one file per host in the data dir (processes on one host sharing a
    data dir each need their own OBSERVER_HEALTH_FILE)."""
    if configured is not None:
        return configured
    return data_dir / "run" / f"health-{socket.gethostname()}.json"


@dataclass(frozen=True)
class ShardHealth:
    open: bool
    latency_ms: float | None  # None until the first heartbeat is acknowledged


def write_health(path: Path, *, connected: bool, stopping: bool, shards: dict[int, ShardHealth]) -> None:
    """Replace the file atomically; an unwritable place raises OSError (the caller logs it once)."""
    report: dict[str, Any] = {
        "written_at": time.time(),
        "connected": connected,
        "stopping": stopping,
        "shards": {str(k): {"open": v.open, "latency_ms": v.latency_ms} for k, v in sorted(shards.items())},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    partial.write_text(json.dumps(report) + "\n", encoding="utf-8")
    partial.replace(path)


def remove_health(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def verdict(path: Path, now: float | None = None) -> tuple[bool, str]:
    """(healthy, one line for the operator) from the file at `path`."""
    now = time.time() if now is None else now
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
        written_at = float(report["written_at"])
        shards = {int(k): v for k, v in dict(report.get("shards") or {}).items()}
    except FileNotFoundError:
        return False, f"not running: no health file at {path} (`observer run` writes it once it starts)"
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return False, f"unreadable health file {path}: {exc}"
    age = now - written_at
    if age > STALE_AFTER_SECONDS:
        return False, f"stuck or gone: the bot last wrote its health {age:.0f} s ago"
    if report.get("stopping"):
        return False, "stopping: draining replies before exit"
    closed = sorted(k for k, v in shards.items() if not v.get("open"))
    if not shards or not report.get("connected") or closed:
        which = f"shards {closed} are" if closed else "no shard is" if not shards else "the gateway is"
        return False, f"not connected: {which} not connected to Discord's gateway (yet)"
    latencies = [v["latency_ms"] for v in shards.values() if isinstance(v.get("latency_ms"), int | float)]
    worst = f", heartbeat latency up to {max(latencies):.0f} ms" if latencies else ""
    return True, f"connected: shards {sorted(shards)}{worst}"
