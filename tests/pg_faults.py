"""PostgreSQL faults for tests and benchmarks, on a database of their own: every session of it
terminated (as a server restart does), and the database refusing connections for a while."""

from __future__ import annotations

import os

import psycopg
from sqlalchemy.engine.url import make_url

PG_URL = os.environ.get("OBSERVER_TEST_POSTGRES_URL", "")


def admin_dsn(url: str) -> str:
    """The server's maintenance database, as psycopg takes it."""
    parsed = make_url(url).set(drivername="postgresql", database="postgres")
    return parsed.render_as_string(hide_password=False)


def database_of(url: str) -> str:
    name = make_url(url).database
    assert name, "the test URL names no database"
    return name


async def recreate(url: str) -> None:
    name = database_of(url)
    async with await psycopg.AsyncConnection.connect(admin_dsn(url), autocommit=True) as conn:
        await conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')  # type: ignore[arg-type]
        await _terminate(conn, name)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')  # type: ignore[arg-type]
        await conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]


async def _terminate(conn: psycopg.AsyncConnection, name: str) -> int:
    cursor = await conn.execute(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
        (name,),
    )
    row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def terminate_sessions(url: str) -> int:
    """What a PostgreSQL restart does to a client: every session of the database is cut."""
    async with await psycopg.AsyncConnection.connect(admin_dsn(url), autocommit=True) as conn:
        return await _terminate(conn, database_of(url))


async def go_down(url: str) -> None:
    """The database is away: sessions cut, new ones refused, until `come_back`."""
    name = database_of(url)
    async with await psycopg.AsyncConnection.connect(admin_dsn(url), autocommit=True) as conn:
        await conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')  # type: ignore[arg-type]
        await _terminate(conn, name)


async def come_back(url: str) -> None:
    name = database_of(url)
    async with await psycopg.AsyncConnection.connect(admin_dsn(url), autocommit=True) as conn:
        await conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')  # type: ignore[arg-type]
