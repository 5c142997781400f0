"""Start-up faults as one line with the fix: a read-only or full data dir, a locked database, an
unreachable PostgreSQL or Chroma server. Anything else keeps its traceback (it is a bug)."""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine.url import make_url

from agent.errors import ConfigError
from agent.redact import redact
from agent.settings import Settings

log = logging.getLogger(__name__)

_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)
_FULL = (errno.ENOSPC, errno.EDQUOT)


def check_data_dir(settings: Settings) -> None:
    """The data dir must take a file: write and remove one, now, rather than fail deep inside Chroma."""
    folder = settings.data_dir
    probe = folder / f".observer-write-check-{uuid.uuid4().hex}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(probe, "wb") as handle:
            handle.write(b"\0" * 4096)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise ConfigError(_os_line(exc, folder)) from None
    finally:
        try:
            probe.unlink(missing_ok=True)
        except OSError:
            pass


def check_sqlite_lock(settings: Settings) -> None:
    """A SQLite record locked by another writer: wait at most `start_lock_wait_seconds`, then say so."""
    url = make_url(settings.resolved_database_url())
    if not url.drivername.startswith("sqlite") or not url.database or url.database == ":memory:":
        return
    path = Path(url.database)
    if not path.exists():
        return
    for wait in (0.1, settings.start_lock_wait_seconds):
        try:
            conn = sqlite3.connect(path, timeout=wait)
        except sqlite3.Error as exc:
            raise ConfigError(_database_line(exc, path, settings)) from None
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.rollback()
            return
        except sqlite3.OperationalError as exc:
            if wait == settings.start_lock_wait_seconds or "locked" not in str(exc):
                raise ConfigError(_database_line(exc, path, settings)) from None
            log.info("the record is locked by another writer; waiting up to %g s", settings.start_lock_wait_seconds)
        except sqlite3.Error as exc:
            raise ConfigError(_database_line(exc, path, settings)) from None
        finally:
            conn.close()


def explain(exc: BaseException, settings: Settings) -> str | None:
    """One line for a known start-up fault anywhere in the exception's chain, else None."""
    chain = list(_chain(exc))
    text = " ".join(f"{type(e).__name__}: {e}" for e in chain)
    for err in chain:
        if isinstance(err, OSError) and err.errno in _FULL:
            return _os_line(err, settings.data_dir)
    if "database or disk is full" in text or "No space left" in text:
        return f"OBSERVER_DATA_DIR: the disk holding {settings.data_dir} is full; free some space and start again"
    if settings.chroma_url and ("Chroma server" in text or (_refused(chain) and "chromadb" in _modules(chain))):
        return (
            f"OBSERVER_CHROMA_URL: cannot reach the Chroma server at {redact(settings.chroma_url)}; "
            "start it, fix the URL, or unset OBSERVER_CHROMA_URL to keep memory in the data dir"
        )
    if "disk image is malformed" in text or "file is not a database" in text:
        if "chromadb" in _modules(chain):
            return (
                f"OBSERVER_DATA_DIR: Chroma's store in {settings.data_dir / 'chroma'} is damaged "
                f"({_first_line(text)}); restore it from a backup, or move it aside and ingest again "
                "(`observer persona ingest`)"
            )
        return (
            f"OBSERVER_DATABASE_URL: the record is damaged ({_first_line(text)}); restore it from a backup "
            "or move it aside (a new one is made at start)"
        )
    if "database is locked" in text:
        return _database_line(sqlite3.OperationalError("database is locked"), None, settings)
    if "readonly database" in text or "read-only file system" in text.lower() or "unable to open database" in text:
        return (
            f"OBSERVER_DATA_DIR: {settings.data_dir} is not writable ({_first_line(text)}); "
            "make it writable by this user or point OBSERVER_DATA_DIR at a writable folder"
        )
    for err in chain:
        if isinstance(err, OSError) and err.errno in _READ_ONLY:
            if err.filename and not _inside(Path(os.fsdecode(err.filename)), settings.data_dir):
                return unreadable_line(err)  # a mounted model list or prompt file, not the data dir
            return _os_line(err, settings.data_dir)
    url = make_url(settings.resolved_database_url())
    if url.drivername.startswith("postgresql") and (
        _refused(chain) or any(type(e).__module__.startswith("asyncpg") for e in chain)
    ):
        where = f"{url.host or 'localhost'}:{url.port or 5432}/{url.database or ''}"
        return (
            f"OBSERVER_DATABASE_URL: cannot reach PostgreSQL at {where} ({_first_line(redact(text))}); "
            "start the server or fix the URL"
        )
    return None


def _inside(path: Path, folder: Path) -> bool:
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except OSError:
        return False


def unreadable_line(exc: OSError) -> str:
    """One line naming a file this process may not read, and who it runs as (in a container: uid 10001)."""
    name = os.fsdecode(exc.filename) if exc.filename else "a file"
    return (
        f"{name}: {exc.strerror or type(exc).__name__}; make it readable by the user Observer runs as "
        f"(uid {os.getuid()})"
    )


def _os_line(exc: OSError, folder: Path) -> str:
    if exc.errno in _FULL:
        return f"OBSERVER_DATA_DIR: the disk holding {folder} is full; free some space and start again"
    reason = exc.strerror or type(exc).__name__
    return (
        f"OBSERVER_DATA_DIR: {folder} is not writable ({reason}); "
        "make it writable by this user or point OBSERVER_DATA_DIR at a writable folder"
    )


def _database_line(exc: BaseException, path: Path | None, settings: Settings) -> str:
    where = path or settings.resolved_database_url()
    text = str(exc)
    if "locked" in text or "busy" in text:
        return (
            f"OBSERVER_DATABASE_URL: {where} is locked by another process (still locked after "
            f"{settings.start_lock_wait_seconds:g} s); stop the other writer (another observer?) and start again"
        )
    if "full" in text:
        return f"OBSERVER_DATA_DIR: the disk holding {where} is full; free some space and start again"
    return (
        f"OBSERVER_DATABASE_URL: cannot open {where} ({text}); "
        "make its folder writable by this user or point OBSERVER_DATA_DIR at a writable folder"
    )


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo = [exc]
    while todo:
        err = todo.pop(0)
        if id(err) in seen:
            continue
        seen.add(id(err))
        yield err
        if isinstance(err, BaseExceptionGroup):
            todo.extend(err.exceptions)
        todo.extend(e for e in (err.__cause__, err.__context__) if e is not None)


def _refused(chain: list[BaseException]) -> bool:
    return any(
        isinstance(e, ConnectionError | TimeoutError)
        or (isinstance(e, OSError) and e.errno in (errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH))
        or "Connect" in type(e).__name__
        for e in chain
    )


def _modules(chain: list[BaseException]) -> str:
    return " ".join(type(e).__module__ for e in chain)


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line[:160]
