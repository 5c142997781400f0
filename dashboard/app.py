"""The dashboard's aiohttp application: sign-in required everywhere but the sign-in pages, a CSRF token
on every POST, and headers that keep the pages from being framed, leaking the URL, or running scripts
from anywhere but the dashboard itself."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from dashboard import channels, forms, health, knowledge, live_pages, prompt_pages, runs, signin, usage
from dashboard.context import DASHBOARD, SESSION, SESSION_NEW, Dashboard, dashboard_of, session_of
from dashboard.sessions import COOKIE

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
STATIC = Path(__file__).parent / "static"
OPEN_PATHS = ("/signin", "/login", "/auth/discord", "/static/")
HEADERS = {
    # Everything the pages use ships in the package: nothing from any other origin, no inline script.
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # A login link's token is in its URL: never sent on as a referrer.
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


async def _headers(_request: web.Request, response: web.StreamResponse) -> None:
    """Every answer carries HEADERS as it is sent: pages, the event stream, static files and every error
    (a 400, a 404 of an unknown path, a 500), whoever made it."""
    response.headers.update(HEADERS)


@web.middleware
async def security(request: web.Request, handler: Handler) -> web.StreamResponse:
    """An unexpected error is a plain 500 (logged here with its traceback; none is sent)."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception:
        log.exception("dashboard: %s %s failed", request.method, request.path)
        return web.Response(status=500, text="The dashboard failed to answer this; the error is in its log.\n")


@web.middleware
async def sessions(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Reads the signed session; a page with none gets a new anonymous one (set with the response)."""
    dashboard = dashboard_of(request)
    session = dashboard.codec.decode(request.cookies.get(COOKIE))
    if session is not None and session.signed_in and await dashboard.logins.session_ended(session.csrf):
        session = None  # signed out: the cookie is worth nothing, wherever it was copied to
    request[SESSION_NEW] = session is None
    request[SESSION] = session or dashboard.new_session()
    if request.path.startswith(OPEN_PATHS) or request.path == "/favicon.ico":
        return await handler(request)
    if not session_of(request).signed_in:
        if request.path.endswith("/events"):
            raise web.HTTPUnauthorized(text="sign in first")
        raise web.HTTPFound("/signin")
    return await handler(request)


@web.middleware
async def csrf(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every POST carries the session's CSRF token (form field `csrf`, an upload's first field); a missing
    or wrong one is 403."""
    if request.method == "POST":
        sent = request.headers.get("X-CSRF-Token")
        if sent is None and forms.is_upload(request):
            sent = await forms.upload_csrf(request)  # the file is not read before the token is checked
        elif sent is None:
            form = await request.post()
            value = form.get("csrf")
            sent = value if isinstance(value, str) else None
        if request[SESSION_NEW] or not sent or not hmac.compare_digest(sent, session_of(request).csrf):
            raise web.HTTPForbidden(text="The form was stale or not from this dashboard; reload the page.")
    return await handler(request)


async def _home(_request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/live")


async def _close(app: web.Application) -> None:
    dashboard = app[DASHBOARD]
    await dashboard.live.close()


def create_app(dashboard: Dashboard) -> web.Application:
    """The application; the caller owns `dashboard.record` (and closes it)."""
    app = web.Application(middlewares=[security, sessions, csrf], client_max_size=64 * 1024)
    app[DASHBOARD] = dashboard
    app.router.add_get("/", _home)
    signin.add_routes(app)
    live_pages.add_routes(app)
    health.add_routes(app)
    channels.add_routes(app)
    usage.add_routes(app)
    runs.add_routes(app)
    knowledge.add_routes(app)
    prompt_pages.add_routes(app)
    app.router.add_static("/static/", STATIC, append_version=False)
    app.on_response_prepare.append(_headers)
    app.on_shutdown.append(_close)
    return app
