"""Ids for things that did not come from Discord (console messages, the bot's stored replies).

Snowflake-shaped (time-ordered, 64-bit) so they sort with real Discord ids in one column:
42 bits of milliseconds, 10 bits naming the process, 12 bits of sequence. The process part keeps
two processes sharing one database from minting the same id in the same millisecond.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time

_EPOCH_MS = 1_420_070_400_000  # Discord's, so minted ids sort among real ones
_SEQUENCE_BITS = 12
_PROCESS_BITS = 10
_lock = threading.Lock()
_last_ms = 0
_sequence = 0


def _process_part() -> int:
    """Distinct for processes alive at once on one host (pids differ); mixed with the host name for several hosts."""
    host = int.from_bytes(hashlib.blake2b(socket.gethostname().encode(), digest_size=2).digest(), "big")
    return (os.getpid() + host * 613) % (1 << _PROCESS_BITS)


_process = _process_part()


def _after_fork() -> None:
    global _process, _last_ms, _sequence
    _process, _last_ms, _sequence = _process_part(), 0, 0


os.register_at_fork(after_in_child=_after_fork)


def new_snowflake() -> int:
    global _last_ms, _sequence
    with _lock:
        now = int(time.time() * 1000)
        if now <= _last_ms:
            now = _last_ms
            _sequence = (_sequence + 1) % (1 << _SEQUENCE_BITS)
            if _sequence == 0:  # 4,096 ids in one millisecond: borrow the next one
                now += 1
        else:
            _sequence = 0
        _last_ms = now
        return ((now - _EPOCH_MS) << (_PROCESS_BITS + _SEQUENCE_BITS)) | (_process << _SEQUENCE_BITS) | _sequence


def stable_id(kind: str, name: str) -> int:
    """A fixed id for a console name, so `alice` is the same person across runs."""
    digest = hashlib.blake2b(f"{kind}:{name}".encode(), digest_size=7).digest()
    return int.from_bytes(digest, "big") or 1
