"""The Usage page: tokens and cost per day, model, channel and member as the record's model_usage rows
hold them (every call: judge, reply, summary, profile…), drawn as SVG here on the server (no script, no
library), and each member's quota use as the gate counts it (the same ledger, seeded the same way from
the record's last day). Only the servers the session may read; direct messages are the operator's."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import Select, and_, func, select
from sqlalchemy.sql.elements import ColumnElement

from agent.access.ledger import DAY, UsageLedger, key_of
from agent.access.policy import QuotaLimits, QuotaPolicy, overlay_quotas
from agent.access.quota import over_quota
from agent.config import load_config
from agent.errors import ConfigError
from agent.memory import tables
from dashboard.context import Dashboard, dashboard_of, render, session_of
from dashboard.guilds import guild_names
from dashboard.params import query_id, query_int
from dashboard.sessions import Session

log = logging.getLogger(__name__)

DEFAULT_DAYS = 30
MAX_DAYS = 366
TOP = 25  # rows per breakdown (the rest summed in one "others" row)
CHART_W, CHART_H = 720, 140


@dataclass
class Row:
    """One line of a breakdown: calls, tokens read and written, cost in US dollars."""

    label: str
    calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    bar: float = 0.0  # this row's tokens as a share of the largest row's, 0..1
    key: str = ""

    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out


@dataclass
class Chart:
    """A day-by-day bar chart as SVG geometry (the template draws it)."""

    title: str
    unit: str
    bars: list[dict[str, Any]] = field(default_factory=list)
    peak: str = ""
    first: str = ""
    last: str = ""


def _in_view(session: Session, guild: int | None) -> ColumnElement[bool] | None:
    """The usage rows this session may read: its servers (or the one picked among them)."""
    u = tables.usage.c
    visible = session.visible_guilds()
    if guild is not None:
        return u.guild_id == guild if session.may_read(guild) else u.guild_id.in_([])
    return None if visible is None else u.guild_id.in_(sorted(visible))


def _day(dialect: str) -> ColumnElement[Any]:
    """created_at's UTC day, as the database writes it (SQLite keeps UTC text; PostgreSQL a timestamptz)."""
    created = tables.usage.c.created_at
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", created), "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d", created)


def _sums(query: Select[Any]) -> Select[Any]:
    u = tables.usage.c
    return query.add_columns(
        func.count().label("calls"),
        func.coalesce(func.sum(u.tokens_in), 0).label("tin"),
        func.coalesce(func.sum(u.tokens_out), 0).label("tout"),
        func.coalesce(func.sum(u.cost_usd), 0.0).label("cost"),
    )


def _row(label: str, r: Any, key: str = "") -> Row:
    return Row(label, int(r.calls), int(r.tin or 0), int(r.tout or 0), float(r.cost or 0.0), key=key)


def _ranked(rows: list[Row]) -> list[Row]:
    rows.sort(key=lambda r: (r.cost_usd, r.tokens, r.calls), reverse=True)
    if len(rows) > TOP:
        rest = rows[TOP - 1 :]
        others = Row(f"{len(rest)} others")
        for r in rest:
            others.calls += r.calls
            others.tokens_in += r.tokens_in
            others.tokens_out += r.tokens_out
            others.cost_usd += r.cost_usd
        rows = [*rows[: TOP - 1], others]
    peak = max((r.tokens for r in rows), default=0)
    for r in rows:
        r.bar = r.tokens / peak if peak else 0.0
    return rows


def _chart(title: str, unit: str, days: list[date], values: dict[date, float], fmt: str) -> Chart:
    chart = Chart(title, unit, first=days[0].isoformat(), last=days[-1].isoformat())
    peak = max(values.values(), default=0.0)
    chart.peak = fmt.format(peak)
    width = CHART_W / len(days)
    for i, day in enumerate(days):
        value = values.get(day, 0.0)
        height = (CHART_H - 4) * value / peak if peak else 0.0
        chart.bars.append(
            {
                "x": round(i * width + 1, 2),
                "y": round(CHART_H - height, 2),
                "w": round(max(width - 2, 1), 2),
                "h": round(height, 2),
                "label": f"{day.isoformat()}: {fmt.format(value)}",
            }
        )
    return chart


async def usage_report(dashboard: Dashboard, session: Session, days: int, guild: int | None) -> dict[str, Any]:
    """Every figure the page shows, summed by the database over the window's usage rows."""
    u, c, g, us = tables.usage.c, tables.channels.c, tables.guilds.c, tables.users.c
    now = datetime.now(UTC)
    first = (now - timedelta(days=days - 1)).date()
    since = datetime.combine(first, datetime.min.time(), UTC)
    where: list[ColumnElement[bool]] = [u.created_at >= since]
    view = _in_view(session, guild)
    if view is not None:
        where.append(view)
    cond = and_(*where)
    day = _day(dashboard.engine.dialect.name).label("day")
    async with dashboard.engine.connect() as conn:
        total = (await conn.execute(_sums(select()).select_from(tables.usage).where(cond))).one()
        by_day = (await conn.execute(_sums(select(day)).where(cond).group_by(day))).all()
        by_model = (await conn.execute(_sums(select(u.model)).where(cond).group_by(u.model))).all()
        by_channel = (
            await conn.execute(
                _sums(select(u.channel_id, u.guild_id, c.name.label("channel"), g.name.label("guild")))
                .select_from(tables.usage)
                .outerjoin(tables.channels, c.id == u.channel_id)
                .outerjoin(tables.guilds, g.id == u.guild_id)
                .where(cond)
                .group_by(u.channel_id, u.guild_id, c.name, g.name)
            )
        ).all()
        by_member = (
            await conn.execute(
                _sums(select(u.user_id, u.guild_id, us.name.label("name"), g.name.label("guild")))
                .select_from(tables.usage)
                .outerjoin(tables.users, us.id == u.user_id)
                .outerjoin(tables.guilds, g.id == u.guild_id)
                .where(cond)
                .group_by(u.user_id, u.guild_id, us.name, g.name)
            )
        ).all()
    span = [first + timedelta(days=i) for i in range(days)]
    daily = {date.fromisoformat(str(r.day)): r for r in by_day if r.day}
    return {
        "total": _row("total", total),
        "charts": [
            _chart("Tokens per day", "tokens", span, {d: float(r.tin + r.tout) for d, r in daily.items()}, "{:,.0f}"),
            _chart("Cost per day", "USD", span, {d: float(r.cost) for d, r in daily.items()}, "${:,.4f}"),
        ],
        "days_rows": [_row(d.isoformat(), daily[d]) for d in reversed(span) if d in daily],
        "models": _ranked([_row(r.model, r) for r in by_model]),
        "channels": _ranked(
            [
                _row(
                    f"{_place(r.guild_id, r.guild)} / "
                    + (f"#{r.channel or r.channel_id}" if r.channel_id is not None else "(no channel)"),
                    r,
                )
                for r in by_channel
            ]
        ),
        "members": _ranked([_row(_member_label(r), r, key=str(r.user_id or "")) for r in by_member]),
        "since": since,
    }


def _place(guild_id: int | None, name: str | None) -> str:
    return name or ("direct messages" if guild_id is None else str(guild_id))


def _member_label(r: Any) -> str:
    if r.user_id is None:
        return "the bot's own calls (no member's message)"
    return f"{r.name or r.user_id} ({_place(r.guild_id, r.guild)})"


def _quota_policy(dashboard: Dashboard) -> tuple[QuotaPolicy, str]:
    """The file's quotas (observer.toml), and a note when the file could not be read."""
    try:
        return load_config(dashboard.settings.resolved_config_path()).quotas, ""
    except ConfigError as exc:
        log.warning("dashboard: quotas unread (%s)", exc)
        return QuotaPolicy(), "observer.toml could not be read here: its quotas are not shown."


def _limit(used: float, limit: float | None) -> dict[str, Any]:
    return {"limit": limit, "share": None if not limit else min(1.0, used / limit)}


async def quota_report(dashboard: Dashboard, session: Session, guild: int | None) -> dict[str, Any]:
    """Each member's use of the last hour and day against their server's limits (everyone's; a role's
    override is listed, the member's roles are Discord's), counted as the gate counts it."""
    visible = session.visible_guilds()
    guilds = await guild_names(dashboard, visible)
    wanted: list[int | None] = [*sorted(visible)] if visible is not None else [None, *sorted(guilds)]
    # Which places are shown is decided first: nothing else is read for a session that may read none.
    wanted = [gid for gid in wanted if (guild is None or gid == guild) and session.may_read(gid)]
    if not wanted:
        return {"places": [], "note": ""}
    ledger = UsageLedger()
    ledger.seed(await dashboard.record.member_usage_since(datetime.now(UTC) - timedelta(seconds=DAY)))
    base, note = _quota_policy(dashboard)
    now = time.time()
    tops = {gid: ledger.top(gid, now, 1000) for gid in wanted}
    # Only the names of the members shown.
    members = await _names(dashboard, {user for rows in tops.values() for user, *_ in rows})
    places: list[dict[str, Any]] = []
    for gid in wanted:
        stored = {} if gid is None else (await dashboard.record.guild_settings(gid)).get("quotas", {})
        policy = overlay_quotas(base, stored)
        limits = policy.limits_for(None)
        rows = []
        for user, replies, tokens, usd in tops[gid]:
            over = over_quota(limits, ledger, key_of(gid, user), now)
            rows.append(
                {
                    "name": members.get(user, str(user)),
                    "id": str(user),
                    "replies": replies,
                    "tokens": tokens,
                    "usd": usd,
                    "replies_limit": _limit(replies, limits.replies_per_hour),
                    "tokens_limit": _limit(tokens, limits.tokens_per_day),
                    "usd_limit": _limit(usd, limits.usd_per_day),
                    "over": over.used if over is not None else "",
                }
            )
        if rows or gid is not None:
            places.append(
                {
                    "name": "direct messages" if gid is None else guilds.get(gid, str(gid)),
                    "limits": _limit_words(limits),
                    "roles": [f"role {r.role}: {_limit_words(r)}" for r in policy.role],
                    "rows": rows,
                }
            )
    return {"places": places, "note": note}


def _limit_words(limits: QuotaLimits) -> str:
    parts = [
        f"{limits.replies_per_hour} replies an hour" if limits.replies_per_hour is not None else "",
        f"{limits.tokens_per_day:,} tokens a day" if limits.tokens_per_day is not None else "",
        f"${limits.usd_per_day:.2f} a day" if limits.usd_per_day is not None else "",
    ]
    return ", ".join(p for p in parts if p) or "no limit"


async def _names(dashboard: Dashboard, ids: set[int]) -> dict[int, str]:
    """The names of these members (read by key, a chunk at a time)."""
    u = tables.users.c
    found: dict[int, str] = {}
    wanted = sorted(ids)
    async with dashboard.engine.connect() as conn:
        for at in range(0, len(wanted), 500):
            rows = (await conn.execute(select(u.id, u.name).where(u.id.in_(wanted[at : at + 500])))).all()
            found |= {int(r.id): r.name or str(r.id) for r in rows}
    return found


async def _page(request: web.Request) -> web.StreamResponse:
    dashboard, session = dashboard_of(request), session_of(request)
    days = query_int(request, "days", 1, MAX_DAYS, f"a number of days from 1 to {MAX_DAYS}") or DEFAULT_DAYS
    guild = query_id(request, "guild")
    guilds = await guild_names(dashboard, session.visible_guilds())
    choices = [(str(g), name) for g, name in sorted(guilds.items(), key=lambda kv: kv[1]) if session.may_read(g)]
    report = await usage_report(dashboard, session, days, guild)
    quotas = await quota_report(dashboard, session, guild)
    return render(
        request,
        "usage.html",
        days=days,
        guild=str(guild or ""),
        guilds=choices,
        chart_w=CHART_W,
        chart_h=CHART_H,
        **report,
        **quotas,
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/usage", _page)
