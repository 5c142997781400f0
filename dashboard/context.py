"""What every dashboard handler shares, built once per process, and the helpers they use to answer."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.ext.asyncio import AsyncEngine

from agent.memory.embeddings import Embedder
from agent.memory.feed import FeedReader
from agent.memory.logins import LoginLinks
from agent.memory.record import Record
from agent.prompts import PromptLibrary
from agent.settings import Settings
from dashboard.live import LiveFeed
from dashboard.oauth import OAuthClient
from dashboard.sessions import COOKIE, Session, SessionCodec
from dashboard.stores import LazyKnowledge

TEMPLATES = Environment(loader=PackageLoader("dashboard", "templates"), autoescape=select_autoescape(["html"]))


@dataclass
class Dashboard:
    """The dashboard's collaborators: the record (reads, and a channel's mode), login links, the live
    feed, the session codec, the OAuth client when "Log in with Discord" is configured, the prompt files
    (and each server's own versions), and memory and personas (opened when first needed; `embedder`:
    one already loaded, else made from the settings then)."""

    settings: Settings
    engine: AsyncEngine
    record: Record
    codec: SessionCodec
    oauth: OAuthClient | None
    embedder: Embedder | None = None
    feed: FeedReader = field(init=False)
    logins: LoginLinks = field(init=False)
    live: LiveFeed = field(init=False)
    prompts: PromptLibrary = field(init=False)
    knowledge: LazyKnowledge = field(init=False)

    def __post_init__(self) -> None:
        self.feed = FeedReader(self.engine)
        self.logins = LoginLinks(self.engine)
        self.live = LiveFeed(self.feed, self.settings.dashboard_poll_seconds)
        # Where the bot reads them (agent/services.py): what is saved here is what its next message uses.
        self.prompts = PromptLibrary(self.settings.prompts_dir, override_root=self.settings.data_dir / "prompts")
        self.knowledge = LazyKnowledge(self.settings, self.engine, self.embedder)

    @property
    def secure_cookies(self) -> bool:
        return (self.settings.dashboard_public_url or "").lower().startswith("https://")

    def new_session(self, **values: Any) -> Session:
        """A fresh session (a new CSRF token: none carries over across a sign-in)."""
        return Session(expires=time.time() + self.settings.dashboard_session_hours * 3600, **values)

    def set_session(self, response: web.StreamResponse, session: Session) -> None:
        response.set_cookie(
            COOKIE,
            self.codec.encode(session),
            max_age=int(self.settings.dashboard_session_hours * 3600),
            path="/",
            httponly=True,
            samesite="Lax",
            secure=self.secure_cookies,
        )


DASHBOARD: web.AppKey[Dashboard] = web.AppKey("dashboard", Dashboard)
# The request's session, and whether it is new (no valid cookie came: it is set with the response).
SESSION: web.RequestKey[Session] = web.RequestKey("session", Session)
SESSION_NEW: web.RequestKey[bool] = web.RequestKey("session_new", bool)


def dashboard_of(request: web.Request) -> Dashboard:
    return request.app[DASHBOARD]


def session_of(request: web.Request) -> Session:
    """The request's session (an anonymous one when none was sent or it did not check out)."""
    return request[SESSION]


def render(request: web.Request, template: str, status: int = 200, **values: Any) -> web.Response:
    """A page from `templates/`, with the session (for the CSRF token and who is signed in)."""
    session = session_of(request)
    html = TEMPLATES.get_template(template).render(session=session, path=request.path, **values)
    response = web.Response(text=html, content_type="text/html", status=status)
    if request[SESSION_NEW]:
        dashboard_of(request).set_session(response, session)
    return response
