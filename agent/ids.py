"""Ids for things that did not come from Discord (console messages, the bot's stored replies).

Snowflake-shaped (time-ordered, 64-bit) so they sort with real Discord ids in one column.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
import time

_DISCORD_EPOCH_MS = 1_420_070_400_000
_counter = itertools.count()
_lock = threading.Lock()


def new_snowflake() -> int:
    with _lock:
        seq = next(_counter) & 0x3FFFFF
    return ((int(time.time() * 1000) - _DISCORD_EPOCH_MS) << 22) | seq


def stable_id(kind: str, name: str) -> int:
    """A fixed id for a console name, so `alice` is the same person across runs."""
    digest = hashlib.blake2b(f"{kind}:{name}".encode(), digest_size=7).digest()
    return int.from_bytes(digest, "big") or 1
