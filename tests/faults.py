"""Real storage faults for tests: a SQLite file locked by another process, a disk that is full."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

# Holds `BEGIN EXCLUSIVE` on the database until a line arrives on stdin (never on a timer).
_LOCKER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=60)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("ROLLBACK")
conn.close()
"""


@contextlib.asynccontextmanager
async def locked_sqlite(path: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    """Another process holds an exclusive write lock on `path` until the block is left (or its stdin
    is written to). Yields the process once the lock is held."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _LOCKER, str(path), stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stdin is not None
    line = await proc.stdout.readline()
    assert line.strip() == b"locked", "the locking process could not take the lock"
    try:
        yield proc
    finally:
        await release(proc)


async def release(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        assert proc.stdin is not None
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            proc.stdin.write(b"release\n")
            await proc.stdin.drain()
        await proc.wait()


def can_mount() -> bool:
    return os.geteuid() == 0 and sys.platform.startswith("linux")


@contextlib.contextmanager
def small_disk(where: Path, size: str = "4m") -> Iterator[Path]:
    """A real, small filesystem (tmpfs) mounted at `where`: writes past `size` fail with ENOSPC."""
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path) -> Path:
    """Fill the filesystem to the last byte; delete the returned file to free it again."""
    filler = disk / f"filler-{uuid.uuid4().hex}"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 20, 65536, 4096, 1):
            block = b"\0" * size
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, block)
    finally:
        os.close(fd)
    return filler
