"""The Channels page: each channel's mode, persona, pinned model, threads and voice; the mode changed
with the check `/observer enable|disable|read` make (Manage Server or an admin role: a member's session
holds exactly the servers they manage; direct messages are the operator's). A run reads the new mode
within the record's cache time (2 s)."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from sqlalchemy import select

from agent.memory import tables
from agent.memory.record import CHANNEL_MODES
from dashboard.context import Dashboard, dashboard_of, render, session_of
from dashboard.params import path_id
from dashboard.sessions import Session

log = logging.getLogger(__name__)


async def channel_rows(dashboard: Dashboard, session: Session) -> list[dict[str, Any]]:
    c, g, pc = tables.channels.c, tables.guilds.c, tables.persona_choices.c
    query = select(c.id, c.name, c.guild_id, c.mode, c.settings, c.is_dm, g.name.label("guild")).outerjoin(
        tables.guilds, g.id == c.guild_id
    )
    guilds = session.visible_guilds()
    if guilds is not None:
        query = query.where(c.guild_id.in_(sorted(guilds)))
    async with dashboard.engine.connect() as conn:
        rows = (await conn.execute(query.order_by(g.name, c.name))).all()
        choices = dict((await conn.execute(select(pc.place, pc.persona))).all())
    found = []
    for r in rows:
        settings = dict(r.settings or {})
        persona = choices.get(f"channel:{r.id}") or choices.get(f"guild:{r.guild_id}") or "default"
        found.append(
            {
                "id": str(r.id),
                "name": r.name or str(r.id),
                "guild": r.guild or ("direct messages" if r.guild_id is None else str(r.guild_id)),
                "mode": r.mode,
                "persona": persona,
                "model": settings.get("model") or "auto",
                "threads": settings.get("threads") or "off",
                "voice": "on" if settings.get("voice") else "off",
            }
        )
    return found


async def _page(request: web.Request) -> web.StreamResponse:
    dashboard, session = dashboard_of(request), session_of(request)
    rows = await channel_rows(dashboard, session)
    return render(request, "channels.html", rows=rows, modes=CHANNEL_MODES, changed=request.query.get("changed", ""))


async def _set_mode(request: web.Request) -> web.StreamResponse:
    dashboard, session = dashboard_of(request), session_of(request)
    channel_id = path_id(request, "channel_id")
    if channel_id is None:  # past any snowflake (and the database's integers)
        raise web.HTTPNotFound(text="No such channel.")
    mode = (await request.post()).get("mode")
    if not isinstance(mode, str) or mode not in CHANNEL_MODES:
        raise web.HTTPBadRequest(text=f"mode must be one of {', '.join(CHANNEL_MODES)}")
    async with dashboard.engine.connect() as conn:
        query = select(tables.channels.c.guild_id, tables.channels.c.is_dm).where(tables.channels.c.id == channel_id)
        found = (await conn.execute(query)).first()
    # Unknown and not allowed read the same: a member learns nothing of channels they may not run.
    if found is None or not session.may_read(found.guild_id):
        raise web.HTTPForbidden(text="You may not change this channel (Manage Server is needed in its server).")
    if found.is_dm or found.guild_id is None:  # no slash command sets a direct message's mode either
        raise web.HTTPForbidden(text="A direct message has no mode to change.")
    await dashboard.record.set_channel_mode(channel_id, mode)
    # Kept at the default log level: who changed what is an operator's to read later.
    log.warning("dashboard: channel %d set to %s by %s", channel_id, mode, session.who)
    raise web.HTTPFound(f"/channels?changed={channel_id}")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/channels", _page)
    app.router.add_post(r"/channels/{channel_id:[0-9]+}/mode", _set_mode)
