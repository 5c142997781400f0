"""Running the dashboard: alone (`observer dashboard`) or beside the bot (`observer run` with
OBSERVER_DASHBOARD_PORT), and printing a one-time login link (`observer dashboard link`)."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from agent.errors import ConfigError
from agent.memory.db import create_engine, upgrade
from agent.memory.embeddings import Embedder
from agent.memory.logins import LoginLinks
from agent.memory.record import Record
from agent.redact import remember_secrets
from agent.settings import Settings
from dashboard.app import create_app
from dashboard.context import Dashboard
from dashboard.oauth import OAuthClient
from dashboard.secret import session_key
from dashboard.sessions import SessionCodec

log = logging.getLogger(__name__)
DEFAULT_PORT = 8710


def base_url(settings: Settings, host: str | None = None, port: int | None = None) -> str:
    """Where people open the dashboard: OBSERVER_DASHBOARD_PUBLIC_URL, else http://host:port."""
    if settings.dashboard_public_url:
        return settings.dashboard_public_url.rstrip("/")
    host = host or settings.dashboard_host
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port or settings.dashboard_port or DEFAULT_PORT}"


def oauth_client(settings: Settings, host: str | None = None, port: int | None = None) -> OAuthClient | None:
    """The OAuth client when both the client id and secret are set; None otherwise."""
    secret = settings.dashboard_client_secret.get_secret_value() if settings.dashboard_client_secret else ""
    if not settings.dashboard_client_id or not secret:
        return None
    remember_secrets([secret])
    redirect = settings.dashboard_redirect_uri or f"{base_url(settings, host, port)}/auth/discord/callback"
    return OAuthClient(
        client_id=settings.dashboard_client_id,
        client_secret=secret,
        redirect_uri=redirect,
        authorize_url=settings.dashboard_oauth_url,
        api_base=settings.dashboard_api_base.rstrip("/"),
    )


async def build_dashboard(
    settings: Settings, host: str | None = None, port: int | None = None, embedder: Embedder | None = None
) -> Dashboard:
    """The dashboard's collaborators on the record (migrated first, as every start does); `embedder`: one
    already loaded (the bot's), for the Knowledge page."""
    engine = create_engine(settings.resolved_database_url(), log_content=settings.log_content)
    await upgrade(engine)
    key = session_key(settings)
    remember_secrets([key.decode()])
    oauth = oauth_client(settings, host, port)
    return Dashboard(settings, engine, Record(engine), SessionCodec(key), oauth, embedder)


async def serve(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    """Serve until cancelled."""
    host = host or settings.dashboard_host
    port = port or settings.dashboard_port or DEFAULT_PORT
    dashboard = await build_dashboard(settings, host, port)
    runner = web.AppRunner(create_app(dashboard), access_log=None)  # URLs may hold a login token
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            raise ConfigError(f"dashboard: cannot listen on {host}:{port} ({exc.strerror or exc})") from None
        # Said at any log level: it is what the operator started the command to learn.
        url = base_url(settings, host, port)
        print(f"dashboard: serving on {url} (sign in: `observer dashboard link`)", flush=True)
        public = settings.dashboard_public_url or ""
        if host not in ("127.0.0.1", "::1", "localhost") and not public.startswith("https://"):
            log.warning(
                "dashboard: listening on %s without https: sign-in cookies cross the network in clear; put it "
                "behind an https proxy and set OBSERVER_DASHBOARD_PUBLIC_URL=https://…",
                host,
            )
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
        await dashboard.record.close()


async def login_link(settings: Settings, host: str | None = None, port: int | None = None) -> str:
    """A new one-time login link, valid for OBSERVER_DASHBOARD_LINK_MINUTES."""
    engine = create_engine(settings.resolved_database_url(), log_content=settings.log_content)
    try:
        await upgrade(engine)
        token = await LoginLinks(engine).issue(settings.dashboard_link_minutes * 60)
    finally:
        await engine.dispose()
    return f"{base_url(settings, host, port)}/login/{token}"
