"""Signing in: a one-time link from `observer dashboard link` (an operator: every server), or "Log in
with Discord" (a member: only the servers the bot is in where they hold Manage Server, Administrator,
or one of the server's admin roles the record knows)."""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import replace

from aiohttp import web
from sqlalchemy import select

from agent.memory import tables
from dashboard.context import Dashboard, dashboard_of, render, session_of
from dashboard.oauth import DiscordMember, OAuthError
from dashboard.params import MAX_ID, ascii_int

log = logging.getLogger(__name__)


async def _signin(request: web.Request) -> web.StreamResponse:
    dashboard = dashboard_of(request)
    return render(request, "signin.html", oauth=dashboard.oauth is not None, note=request.query.get("note", ""))


async def _link(request: web.Request) -> web.StreamResponse:
    """The link's page asks for a press: a chat's link preview fetching the URL must not use it up."""
    return render(request, "login.html", token=request.match_info["token"])


async def _redeem(request: web.Request) -> web.StreamResponse:
    dashboard = dashboard_of(request)
    form = await request.post()
    token = form.get("token")
    if not isinstance(token, str) or not await dashboard.logins.redeem(token):
        log.info("dashboard: a login link was refused (used, expired or unknown)")
        return render(request, "signin.html", status=403, oauth=dashboard.oauth is not None, note="used")
    log.info("dashboard: an operator signed in with a login link")
    response = web.HTTPFound("/live")
    dashboard.set_session(response, dashboard.new_session(kind="operator", name="operator"))
    raise response


async def _discord(request: web.Request) -> web.StreamResponse:
    dashboard = dashboard_of(request)
    if dashboard.oauth is None:
        raise web.HTTPNotFound(text="Log in with Discord is not set up (OBSERVER_DASHBOARD_CLIENT_ID)")
    state = secrets.token_urlsafe(24)
    roles = bool(await _admin_roles(dashboard))
    response = web.HTTPFound(dashboard.oauth.authorize_link(state, roles=roles))
    dashboard.set_session(response, replace(session_of(request), oauth_state=state))
    raise response


async def _callback(request: web.Request) -> web.StreamResponse:
    dashboard = dashboard_of(request)
    if dashboard.oauth is None:
        raise web.HTTPNotFound()
    session = session_of(request)
    state = request.query.get("state", "")
    if not session.oauth_state or not hmac.compare_digest(state, session.oauth_state):
        raise web.HTTPForbidden(text="This sign-in did not start here; start again from the sign-in page.")
    code = request.query.get("code")
    if not code:  # the member pressed Cancel, or Discord sent an error
        raise web.HTTPFound("/signin?note=cancelled")
    try:
        member = await dashboard.oauth.member(code)
    except OAuthError:
        raise web.HTTPFound("/signin?note=refused") from None
    guild_ids = await allowed_guilds(dashboard, member)
    log.info("dashboard: a member signed in with Discord (%d server(s) visible)", len(guild_ids))
    response = web.HTTPFound("/live")
    signed = dashboard.new_session(kind="member", name=member.name[:64], user_id=member.id, guild_ids=guild_ids)
    dashboard.set_session(response, signed)
    raise response


async def allowed_guilds(dashboard: Dashboard, member: DiscordMember) -> tuple[int, ...]:
    """The servers the bot knows (in the record) that this member may run: Manage Server (or
    Administrator, or owner) from Discord, or a role the server's admin_roles list names."""
    async with dashboard.engine.connect() as conn:
        known = {int(g) for (g,) in (await conn.execute(select(tables.guilds.c.id))).all()}
    admin_roles = await _admin_roles(dashboard)
    allowed: list[int] = []
    for guild in member.guilds:
        if guild.id not in known:
            continue
        if guild.manages:
            allowed.append(guild.id)
        elif admin_roles.get(guild.id) and dashboard.oauth is not None:
            if await dashboard.oauth.role_ids(member.token, guild.id) & admin_roles[guild.id]:
                allowed.append(guild.id)
    return tuple(sorted(allowed))


async def _admin_roles(dashboard: Dashboard) -> dict[int, set[int]]:
    """Each server's admin roles as `/observer access add admin_roles` stored them."""
    async with dashboard.engine.connect() as conn:
        rows = (await conn.execute(select(tables.guild_settings.c.guild_id, tables.guild_settings.c.settings))).all()
    found: dict[int, set[int]] = {}
    for guild_id, settings in rows:
        roles = ((settings or {}).get("access") or {}).get("admin_roles") or []
        ids = {i for r in roles if (i := ascii_int(str(r), 0, MAX_ID)) is not None}
        if ids:
            found[int(guild_id)] = ids
    return found


async def _logout(request: web.Request) -> web.StreamResponse:
    dashboard, session = dashboard_of(request), session_of(request)
    if session.signed_in:
        await dashboard.logins.end_session(session.csrf, session.expires)
    response = web.HTTPFound("/signin")
    dashboard.set_session(response, dashboard.new_session())
    raise response


def add_routes(app: web.Application) -> None:
    app.router.add_get("/signin", _signin)
    app.router.add_get("/login/{token}", _link)
    app.router.add_post("/login", _redeem)
    app.router.add_get("/auth/discord", _discord)
    app.router.add_get("/auth/discord/callback", _callback)
    app.router.add_post("/logout", _logout)
