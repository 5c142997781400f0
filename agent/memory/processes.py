"""Who is running: every `observer run` beats in the shared database, so processes that share it know
which of them are alive, and which shards each holds.

A process is alive while its last beat is younger than the lease (`OBSERVER_PROCESS_LEASE_SECONDS`),
judged by the database's clock, not the machines'. One on this same host whose pid is gone (or is this
process's own pid: a restarted container) is dead at once, so a restart resumes its predecessor's
questions without waiting for the lease to run out. "This same host" means the same hostname and the
same pid namespace (containers each have their own, even on one machine with one hostname), so a pid
is only ever compared with pids it could be.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from agent.memory import tables


async def database_now(conn: AsyncConnection) -> float:
    """The database's clock, in epoch seconds: one clock for every machine sharing it."""
    if conn.dialect.name == "postgresql":
        query = "SELECT extract(epoch from clock_timestamp())"
    else:  # SQLite: one file, one machine
        query = "SELECT (julianday('now') - 2440587.5) * 86400.0"
    return float((await conn.execute(text(query))).scalar_one())


def this_place() -> str:
    """Where pids mean the same thing: "hostname#pid-namespace" (Linux), else the hostname."""
    try:
        namespace = f"#{os.stat('/proc/self/ns/pid').st_ino}"
    except OSError:
        namespace = ""
    return socket.gethostname()[: 255 - len(namespace)] + namespace


def hostname_of(place: str) -> str:
    return place.split("#", 1)[0]


@dataclass(frozen=True)
class Me:
    """This process, as others see it."""

    id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    host: str = field(default_factory=this_place)
    pid: int = field(default_factory=os.getpid)


@dataclass(frozen=True)
class ProcessRow:
    id: str
    host: str
    pid: int
    started_at: float  # database epoch seconds
    seen_at: float
    layout: str  # all | fixed | auto
    shard_count: int | None
    shards: tuple[int, ...]


def _pid_gone(pid: int) -> bool:
    if pid == os.getpid():
        return True  # a row with our pid but not our id: the process this one replaced (a restart)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


def is_alive(row: ProcessRow, me: Me, now: float, lease: float) -> bool:
    if row.id == me.id:
        return True
    if now - row.seen_at > lease:
        return False
    return not (row.host == me.host and _pid_gone(row.pid))


class Processes:
    """The `processes` table: beats, the live set, and leaving."""

    def __init__(self, engine: AsyncEngine, me: Me, lease_seconds: float) -> None:
        self.engine = engine
        self.me = me
        self.lease_seconds = lease_seconds

    async def beat(self, layout: str, shard_count: int | None, shards: Iterable[int]) -> float:
        """Say this process is alive and what it holds; returns the database's time of the beat."""
        held = sorted(shards)
        async with self.engine.begin() as conn:
            now = await database_now(conn)
            values = {"seen_at": now, "layout": layout, "shard_count": shard_count, "shards": held}
            p = tables.processes.c
            done = await conn.execute(update(tables.processes).where(p.id == self.me.id).values(**values))
            if done.rowcount == 0:
                await conn.execute(
                    insert(tables.processes).values(
                        id=self.me.id, host=self.me.host, pid=self.me.pid, started_at=now, **values
                    )
                )
        return now

    async def rows(self) -> tuple[float, list[ProcessRow]]:
        """(the database's time now, every process that has beaten and not left), oldest first."""
        async with self.engine.connect() as conn:
            now = await database_now(conn)
            found = (await conn.execute(select(tables.processes).order_by(tables.processes.c.started_at))).all()
        return now, [
            ProcessRow(
                id=r.id,
                host=r.host,
                pid=int(r.pid),
                started_at=float(r.started_at),
                seen_at=float(r.seen_at),
                layout=r.layout,
                shard_count=r.shard_count,
                shards=tuple(int(s) for s in (r.shards or [])),
            )
            for r in found
        ]

    async def live_ids(self) -> set[str]:
        now, rows = await self.rows()
        return {row.id for row in rows if is_alive(row, self.me, now, self.lease_seconds)}

    async def forget_dead(self, older_than: float) -> int:
        """Remove rows of processes silent for `older_than` seconds (they only clutter `observer status`)."""
        async with self.engine.begin() as conn:
            now = await database_now(conn)
            done = await conn.execute(delete(tables.processes).where(tables.processes.c.seen_at < now - older_than))
        return int(done.rowcount or 0)

    async def leave(self) -> None:
        """A clean stop: this process is gone at once, not a lease later."""
        async with self.engine.begin() as conn:
            await conn.execute(delete(tables.processes).where(tables.processes.c.id == self.me.id))
