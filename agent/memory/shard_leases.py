"""Automatic shard layout: a lease per shard in the shared database, the only coordinator.

A process holds a shard while its lease is unexpired; it renews all of them with every beat. A lease
whose holder stopped renewing (killed, frozen, cut off from the database) expires after
`lease_seconds`, and then any process may take it, in one atomic statement, so only one does.
Times are the database's clock (epoch seconds).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from agent.memory import tables
from agent.memory.processes import database_now


@dataclass(frozen=True)
class LeaseView:
    """Every shard's lease as the database has it now: holder → shards, for leases not yet expired."""

    now: float
    held: dict[str, frozenset[int]]

    def holder_of(self, shard_id: int) -> str | None:
        return next((who for who, shards in self.held.items() if shard_id in shards), None)


BATCH = 5000  # rows per statement: 15,000 parameters, under SQLite's and PostgreSQL's limits


class ShardLeases:
    def __init__(self, engine: AsyncEngine, holder: str, lease_seconds: float) -> None:
        self.engine = engine
        self.holder = holder
        self.lease_seconds = lease_seconds

    async def take(self, shard_id: int) -> bool:
        """Take the shard if nobody holds it or its lease has expired (or it is already ours)."""
        return shard_id in await self.take_many([shard_id])

    async def take_many(self, shard_ids: list[int]) -> set[int]:
        """Take every one of these shards that nobody holds (or whose lease has expired), in one
        statement however many (a bot with thousands of shards starts within one lease); returns them."""
        if not shard_ids:
            return set()
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        taken: set[int] = set()
        async with self.engine.begin() as conn:
            now = await database_now(conn)
            expires = now + self.lease_seconds
            for start in range(0, len(shard_ids), BATCH):  # both databases cap a statement's parameters
                statement = dialect.insert(tables.shard_leases).values(
                    [{"shard_id": s, "holder": self.holder, "expires_at": expires} for s in shard_ids[start:][:BATCH]]
                )
                current = tables.shard_leases.c
                statement = statement.on_conflict_do_update(
                    index_elements=[current.shard_id],
                    set_={"holder": statement.excluded.holder, "expires_at": statement.excluded.expires_at},
                    where=(current.expires_at < now) | (current.holder == self.holder),
                ).returning(current.shard_id)
                taken.update(int(s) for s in (await conn.execute(statement)).scalars().all())
        return taken

    async def renew(self) -> frozenset[int]:
        """Extend every lease this process still holds; returns them (a shard missing was taken over)."""
        c = tables.shard_leases.c
        async with self.engine.begin() as conn:
            now = await database_now(conn)
            await conn.execute(
                update(tables.shard_leases).where(c.holder == self.holder).values(expires_at=now + self.lease_seconds)
            )
            rows = (await conn.execute(select(c.shard_id).where(c.holder == self.holder))).all()
        return frozenset(int(r.shard_id) for r in rows)

    async def release(self, shard_id: int) -> None:
        c = tables.shard_leases.c
        async with self.engine.begin() as conn:
            await conn.execute(delete(tables.shard_leases).where((c.shard_id == shard_id) & (c.holder == self.holder)))

    async def release_all(self) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(delete(tables.shard_leases).where(tables.shard_leases.c.holder == self.holder))

    async def view(self) -> LeaseView:
        c = tables.shard_leases.c
        async with self.engine.connect() as conn:
            now = await database_now(conn)
            rows = (await conn.execute(select(c.shard_id, c.holder).where(c.expires_at >= now))).all()
        held: dict[str, set[int]] = {}
        for row in rows:
            held.setdefault(row.holder, set()).add(int(row.shard_id))
        return LeaseView(now, {who: frozenset(shards) for who, shards in held.items()})
