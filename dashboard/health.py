"""The Health page: every process sharing the record and its shards, model cooldowns, the latest model
errors (redacted; a member sees only their servers'), and versions. Never a key or a token."""

from __future__ import annotations

import platform
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from aiohttp import web
from sqlalchemy import select

from agent.memory import tables
from agent.memory.db import current_revision
from agent.memory.processes import Me, Processes, hostname_of, is_alive
from agent.process_status import process_lines
from agent.redact import redact
from dashboard.context import Dashboard, dashboard_of, render, session_of
from dashboard.sessions import Session

PACKAGES = ("observer-bot", "discord.py", "langgraph", "langchain-core", "sqlalchemy", "aiohttp")
ERRORS_SHOWN = 10


def versions() -> list[tuple[str, str]]:
    found = [("python", platform.python_version())]
    for name in PACKAGES:
        try:
            found.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            found.append((name, "not installed"))
    return found


async def health_view(dashboard: Dashboard, session: Session) -> dict[str, Any]:
    """Everything the page shows, as plain values."""
    lease = dashboard.settings.process_lease_seconds
    me = Me(id="")
    now, rows = await Processes(dashboard.engine, me, lease).rows()
    processes = [
        {
            "id": row.id[:8],
            "host": f"{hostname_of(row.host)}:{row.pid}",
            "layout": row.layout,
            "shards": ", ".join(str(s) for s in row.shards) or "-",
            "shard_count": row.shard_count or "-",
            "up_s": int(now - row.started_at),
            "seen_s": int(now - row.seen_at),
            "alive": is_alive(row, me, now, lease),
        }
        for row in rows
    ]
    u, cd, sl = tables.usage.c, tables.model_cooldowns.c, tables.shard_leases.c
    errors_query = select(u.created_at, u.model, u.purpose, u.error, u.guild_id).where(u.ok.is_(False))
    guilds = session.visible_guilds()
    if guilds is not None:
        errors_query = errors_query.where(u.guild_id.in_(sorted(guilds)))
    async with dashboard.engine.connect() as conn:
        leases = (await conn.execute(select(sl.shard_id, sl.holder, sl.expires_at).order_by(sl.shard_id))).all()
        cooling = (await conn.execute(select(cd.model, cd.until, cd.failures, cd.reason))).all()
        errors = (await conn.execute(errors_query.order_by(u.id.desc()).limit(ERRORS_SHOWN))).all()
    wall = datetime.now(UTC)
    return {
        "lines": process_lines(now, rows, me, lease),
        "processes": processes,
        "leases": [{"shard": r.shard_id, "holder": r.holder[:8], "left_s": int(r.expires_at - now)} for r in leases],
        "cooldowns": [
            {
                "model": r.model,
                "left_s": int((_aware(r.until) - wall).total_seconds()),
                "failures": r.failures,
                "reason": redact(r.reason or "")[:300],
            }
            for r in cooling
            if _aware(r.until) > wall
        ],
        "errors": [
            {
                "at": _aware(r.created_at).strftime("%Y-%m-%d %H:%M:%S"),
                "model": r.model,
                "purpose": r.purpose,
                "error": redact(r.error or "")[:300],
            }
            for r in errors
        ],
        "versions": versions(),
        "revision": await current_revision(dashboard.engine),
    }


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


async def _page(request: web.Request) -> web.StreamResponse:
    session = session_of(request)
    # Hosts, process ids, shards, every model's cooldowns and versions are the deployment's, not a
    # server's: a public bot's members signing in with Discord do not see them.
    if session.kind != "operator":
        raise web.HTTPForbidden(text="The health page is the operator's: sign in with `observer dashboard link`.")
    return render(request, "health.html", **await health_view(dashboard_of(request), session))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/health", _page)
