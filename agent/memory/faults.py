"""Telling a dependency that is down (a locked or full database, a dropped connection, a server that
refuses) from a bug: the first is worth retrying once it is back, the second is not."""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterator

# sqlite3 (and aiosqlite) words for a write that may succeed later: another writer holds the lock,
# the disk is full, the file cannot be written for now.
_SQLITE_TRANSIENT = ("locked", "busy", "full", "disk i/o", "unable to open", "readonly", "read-only")
_OS_TRANSIENT = {
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EFBIG,
    errno.EIO,
    errno.EAGAIN,
    errno.ECONNREFUSED,
    errno.ECONNRESET,
    errno.ECONNABORTED,
    errno.EPIPE,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
}


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, what caused it, and the members of exception groups, each once."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            todo.extend(current.exceptions)
        for linked in (current.__cause__, current.__context__, getattr(current, "orig", None)):
            if isinstance(linked, BaseException):
                todo.append(linked)


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc).lower()
        return any(word in text for word in _SQLITE_TRANSIENT)
    if isinstance(exc, ConnectionError):
        return True  # not TimeoutError: a slow model or tool is not a dependency that is down
    if isinstance(exc, OSError) and exc.errno in _OS_TRANSIENT:
        return True
    module = type(exc).__module__.split(".")[0]
    name = type(exc).__name__
    if module == "psycopg" or module == "psycopg_pool":
        # OperationalError: the server went away or refuses; PoolTimeout/PoolClosed: no connection to be had.
        return name in {"OperationalError", "InterfaceError", "PoolTimeout", "TooManyRequests", "AdminShutdown"}
    if module == "asyncpg":
        if name == "ObjectNotInPrerequisiteStateError":  # the database is closed to connections for now
            return "accepting connections" in str(exc)
        return (
            name
            in {
                "InternalClientError",  # a session the server cut mid-operation (asyncpg#1069)
                "ConnectionDoesNotExistError",
                "InterfaceError",
                "AdminShutdownError",
                "CannotConnectNowError",
                "ConnectionFailureError",
                "TooManyConnectionsError",
                "InvalidCatalogNameError",
                "ObjectInUseError",
            }
            or "Connection" in name
        )
    if module == "sqlalchemy":
        # DBAPIError wraps the driver's error (checked through `orig`); a connection SQLAlchemy itself
        # found dead is marked so.
        if getattr(exc, "connection_invalidated", False) or name in {"DisconnectionError", "TimeoutError"}:
            return True
        # A server database's OperationalError (asyncpg's, as SQLAlchemy adapts it) is about the server,
        # not the statement; SQLite's also covers bugs ("no such table"), so its own text decides.
        orig = getattr(exc, "orig", None)
        wrapped = {"OperationalError", "InterfaceError", "InternalClientError"}
        return name in wrapped and not isinstance(orig, sqlite3.Error)
    if module in {"httpx", "httpcore"}:
        return name in {
            "ConnectError",
            "ConnectTimeout",
            "ReadError",
            "ReadTimeout",
            "RemoteProtocolError",
            "PoolTimeout",
            "WriteError",
            "NetworkError",
        }
    if module == "chromadb":
        text = str(exc).lower()
        return "connect" in text or "unavailable" in text
    return False


def dependency_down(exc: BaseException) -> bool:
    """True when `exc` (or what caused it) says a database, checkpointer or server is unreachable,
    locked or full for now, rather than a bug in what was asked of it."""
    return any(_transient(linked) for linked in _chain(exc))


def fault_summary(exc: BaseException) -> str:
    """One line for the log naming the fault, never the SQL parameters (members' words) it carried."""
    for linked in _chain(exc):
        if _transient(linked):
            detail = linked.args[0] if linked.args and isinstance(linked.args[0], str) else ""
            detail = detail.splitlines()[0][:200] if detail else ""
            return f"{type(linked).__name__}: {detail}" if detail else type(linked).__name__
    return type(exc).__name__
