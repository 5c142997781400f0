"""LangGraph checkpointers for reply runs, from the official packages: a SQLite file in the data dir,
or PostgreSQL when the record is on PostgreSQL (the same database). A run killed mid-way resumes from
its last finished step instead of starting over.

On PostgreSQL the saver draws from a connection pool that checks each connection before handing it
out, so a server restart (or `pg_terminate_backend`) costs the next run nothing: a dead connection is
replaced, where a single long-lived connection would fail every run after it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from sqlalchemy.engine.url import make_url

from agent.settings import Settings

CHECKPOINT_FILE = "checkpoints.db"
# Another advisory-lock key than the record's migrations: processes set the tables up one at a time.
SETUP_LOCK_KEY = 0x0B5E_2BE3
# Background reconnection gives up after this long; a run waits this long for a connection, then fails
# (as a dependency that is down: it is retried).
RECONNECT_GIVE_UP_S = 5.0
CONNECTION_WAIT_S = 15.0


# The only of our types a reply run's state holds: a checkpoint never revives anything else.
STATE_TYPES = [("agent.events", name) for name in ("Attachment", "Event", "Decision", "ChatLine", "Snippet")]


def serializer() -> JsonPlusSerializer:
    return JsonPlusSerializer(allowed_msgpack_modules=STATE_TYPES)


def _psycopg_dsn(url: str) -> str:
    parsed = make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


@contextlib.asynccontextmanager
async def open_pool(dsn: str, max_size: int) -> AsyncIterator[Any]:
    """A psycopg pool as the saver needs its connections (autocommit, dict rows, no server-side
    prepared statements, which a pooler or a reconnect would lose), each checked before use."""
    from psycopg.rows import dict_row
    from psycopg_pool import AsyncConnectionPool

    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        dsn,
        min_size=1,
        max_size=max_size,
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
        check=AsyncConnectionPool.check_connection,
        # The pool's own reconnection backs off without a cap (1, 2, 4 … s): after a long outage it would
        # come back long after the server. Giving up after a few seconds instead leaves the next run's
        # request to open a connection at once.
        reconnect_timeout=RECONNECT_GIVE_UP_S,
        timeout=CONNECTION_WAIT_S,
        open=False,
        name="checkpoints",
    )
    await pool.open(wait=True)
    try:
        yield pool
    finally:
        await pool.close()


@contextlib.asynccontextmanager
async def open_checkpointer(settings: Settings) -> AsyncIterator[Any]:
    url = settings.resolved_database_url()
    if make_url(url).get_backend_name() == "postgresql":
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
        from psycopg import AsyncConnection

        dsn = _psycopg_dsn(url)
        async with await AsyncConnection.connect(dsn, autocommit=True) as lock_conn:
            await lock_conn.execute("SELECT pg_advisory_lock(%s)", (SETUP_LOCK_KEY,))
            try:
                async with AsyncPostgresSaver.from_conn_string(dsn) as saver:
                    await saver.setup()
            finally:
                await lock_conn.execute("SELECT pg_advisory_unlock(%s)", (SETUP_LOCK_KEY,))
        async with open_pool(dsn, settings.checkpoint_pool_size) as pool:
            yield AsyncPostgresSaver(pool, serde=serializer())
        return
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    async with AsyncSqliteSaver.from_conn_string(str(settings.data_dir / CHECKPOINT_FILE)) as saver:
        saver.serde = serializer()  # this constructor takes no serde
        await saver.setup()
        yield saver
