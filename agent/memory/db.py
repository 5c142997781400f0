"""Engine creation and migrations for the record (SQLite by default, PostgreSQL by URL)."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Table, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine.url import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from agent.errors import ConfigError
from agent.memory.tables import Base
from agent.redact import redact

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

try:
    import fcntl
except ImportError:  # Windows: no advisory file locks; one process per SQLite file there
    fcntl = None  # type: ignore[assignment]

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# pg_advisory_xact_lock key for migrations: any constant unlikely to clash with another app's.
MIGRATION_LOCK_KEY = 0x0B5E_2BE2


def _normalise_url(url: str) -> str:
    """Accept the URLs people paste (postgres://, sqlite:///) and pick the async drivers."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            f"OBSERVER_DATABASE_URL: {url!r} is not a database URL; "
            "use sqlite+aiosqlite:///path.db or postgresql+asyncpg://user@host/db"
        ) from None
    driver = parsed.drivername
    if driver in ("postgres", "postgresql", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif driver == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif driver not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
        raise ConfigError(
            f"OBSERVER_DATABASE_URL: driver {driver!r} is not supported; use sqlite+aiosqlite or postgresql+asyncpg"
        )
    return parsed.render_as_string(hide_password=False)


def create_engine(url: str, *, log_content: bool = False) -> AsyncEngine:
    """`log_content`: a failed statement's error names its parameters (members' names and words);
    hidden unless OBSERVER_LOG_CONTENT=true."""
    url = _normalise_url(url)
    hide = not log_content
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, hide_parameters=hide)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_async_engine(url, pool_size=5, max_overflow=5, pool_pre_ping=True, hide_parameters=hide)
    event.listen(engine.sync_engine, "handle_error", _broken_protocol_is_a_disconnect)
    return engine


def _broken_protocol_is_a_disconnect(context: Any) -> None:
    """asyncpg reports some sessions the server terminated mid-transaction as InternalClientError
    ("cannot switch to state …; another operation is in progress"), which SQLAlchemy does not count as
    a disconnect: the broken connection went back to the pool and failed every later checkout
    (sqlalchemy#13241, asyncpg#1069). Counted as one, it is thrown away and the pool opens a new one."""
    error: BaseException | None = context.original_exception
    while error is not None:
        if type(error).__name__ == "InternalClientError":
            context.is_disconnect = True
            return
        error = error.__cause__ or error.__context__


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets readers (the judge's window) run while ingest writes; NORMAL sync is safe with WAL.
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _alembic_config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def _load_scripts(cfg: Config) -> ScriptDirectory:
    """Read the migration files (file I/O: call from a worker thread)."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(cfg)
    scripts.get_revisions("heads")  # builds the revision map, importing every migration now
    return scripts


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply migrations over one of our own connections, without blocking the event loop.

    A database already at the newest revision (every start but the first after an update) is only
    read: alembic, about 0.3 s of imports, is loaded when there is something to apply."""
    # Reading the migration files is file I/O: off the event loop (langgraph dev refuses blocking calls).
    if revision == "head" and await _stored_revision(engine) == await asyncio.to_thread(head_revision):
        return
    from alembic.runtime.environment import EnvironmentContext

    cfg = _alembic_config()
    scripts = await asyncio.to_thread(_load_scripts, cfg)

    def _upgrade(sync_conn: Connection) -> None:
        def steps(rev: Any, _context: Any) -> Any:
            return scripts._upgrade_revs(revision, rev)

        with EnvironmentContext(cfg, scripts, fn=steps, destination_rev=revision) as env:
            env.configure(connection=sync_conn, target_metadata=Base.metadata, render_as_batch=True)
            with env.begin_transaction():
                env.run_migrations()

    try:
        async with _migration_lock(engine), engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                # Processes starting together on a fresh database take turns; the lock ends with the transaction.
                await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            await conn.run_sync(_upgrade)
    except OSError as exc:
        raise ConfigError(
            f"OBSERVER_DATABASE_URL: cannot reach the database ({redact(str(exc))}); start the server or fix the URL"
        ) from None


@contextlib.asynccontextmanager
async def _migration_lock(engine: AsyncEngine) -> AsyncIterator[None]:
    """SQLite: a lock file beside the database, so two processes never migrate at once.
    PostgreSQL takes an advisory lock inside the migration's transaction instead."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:" or fcntl is None:
        yield
        return
    path = Path(database).with_name(Path(database).name + ".migrate-lock")
    handle = await asyncio.to_thread(open, path, "a+b")
    try:
        await asyncio.to_thread(fcntl.flock, handle.fileno(), fcntl.LOCK_EX)
        yield
    finally:
        handle.close()  # releases the lock


async def _stored_revision(engine: AsyncEngine) -> str | None:
    """The revision the database says it is at; None for a new database (or one that cannot be read:
    `upgrade` then reports why)."""
    try:
        async with engine.connect() as conn:
            return (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar_one_or_none()
    except Exception:
        return None


async def current_revision(engine: AsyncEngine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    def _rev(sync_conn: Connection) -> str | None:
        return MigrationContext.configure(sync_conn).get_current_revision()

    async with engine.connect() as conn:
        return await conn.run_sync(_rev)


_REVISION = re.compile(r"^revision\s*=\s*[\"']([^\"']+)[\"']", re.MULTILINE)
_DOWN = re.compile(r"^down_revision\s*=\s*[\"']([^\"']+)[\"']", re.MULTILINE)


@cache
def head_revision() -> str:
    """The newest migration's revision (what `upgrade` brings a database to), read from the migration
    files' `revision` / `down_revision` lines without loading alembic. ValueError unless there is
    exactly one head."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        found = _REVISION.search(source)
        if found:
            revisions.add(found.group(1))
        down = _DOWN.search(source)
        if down:
            parents.add(down.group(1))
    heads = revisions - parents
    if len(heads) != 1:
        raise ValueError(f"migrations: expected one head revision, found {sorted(heads)}")
    return heads.pop()


def dialect_insert(dialect: str) -> Any:
    """The INSERT that knows ON CONFLICT for this database (SQLite or PostgreSQL)."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def upsert(
    dialect: str, table: Table, values: dict[str, Any], keys: Sequence[str], *, update: Sequence[str] | None = None
) -> Any:
    """Insert the row, or on a clash of `keys` update the `update` columns (default: every other column
    given; none: leave the existing row as it is)."""
    stmt = dialect_insert(dialect)(table).values(**values)
    columns = [c for c in values if c not in keys] if update is None else list(update)
    if not columns:
        return stmt.on_conflict_do_nothing(index_elements=list(keys))
    return stmt.on_conflict_do_update(index_elements=list(keys), set_={c: stmt.excluded[c] for c in columns})
