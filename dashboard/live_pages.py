"""The Live page and its server-sent events: members' messages as they arrive and move through their
states, with the run's decision, model, tokens, cost and time to first token."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy import select

from agent.memory import tables
from agent.memory.feed import NAMED_ACCOUNTS, FeedItem
from agent.memory.progress import MessageState
from dashboard.context import Dashboard, dashboard_of, render, session_of
from dashboard.params import MAX_ID, ascii_int, query_id
from dashboard.sessions import Session

log = logging.getLogger(__name__)

STATES: tuple[MessageState, ...] = (
    "waiting",
    "answering",
    "paused",
    "retrying",
    "answered",
    "skipped",
    "failed",
    "expired",
)
FIRST_PAGE = 50
KEEPALIVE_SECONDS = 15.0
# An open stream checks its session this often (signed out anywhere, or expired): one read by key.
SESSION_CHECK_SECONDS = 5.0


@dataclass(frozen=True)
class Filters:
    """What the Live page was asked to show: one channel, one member (the ids of everyone by the name
    given, or the one id), one state; None: any. `member_text` is what was typed, for the form."""

    channel: int | None = None
    members: tuple[int, ...] | None = None
    state: str | None = None
    member_text: str = ""
    member_note: str = ""

    def shows(self, session: Session, item: FeedItem) -> bool:
        if not session.may_read(item.guild_id):
            return False
        return (
            (self.channel is None or item.channel_id == self.channel)
            and (self.members is None or item.author_id in self.members)
            and (self.state is None or item.state == self.state)
        )


async def _filters(dashboard: Dashboard, request: web.Request) -> Filters:
    state = request.query.get("state", "")
    member = request.query.get("member", "").strip()[:100]
    members: tuple[int, ...] | None = None
    note = ""
    if member:
        # An id, and a name (all digits is a name too): every account of that name, and every member a
        # proxy showed under it (the rows shown are still only the session's).
        by_id = ascii_int(member, 0, MAX_ID)
        named, more = await dashboard.feed.members_named(member)
        members = tuple(sorted({*named, *(() if by_id is None else (by_id,))}))
        if more:
            note = f"More than {NAMED_ACCOUNTS} accounts are called {member!r}: only {NAMED_ACCOUNTS} are shown."
    return Filters(
        channel=query_id(request, "channel"),
        members=members,
        state=state if state in STATES else None,
        member_text=member,
        member_note=note,
    )


async def visible_channels(dashboard: Dashboard, session: Session) -> list[dict[str, str]]:
    """Channels this session may read, for the filter: [{id, label}], by server then name."""
    c, g = tables.channels.c, tables.guilds.c
    query = select(c.id, c.name, c.guild_id, g.name.label("guild")).outerjoin(tables.guilds, g.id == c.guild_id)
    guilds = session.visible_guilds()
    if guilds is not None:
        query = query.where(c.guild_id.in_(sorted(guilds)))
    async with dashboard.engine.connect() as conn:
        rows = (await conn.execute(query.order_by(g.name, c.name))).all()
    return [{"id": str(r.id), "label": f"{r.guild or 'direct messages'} / #{r.name or r.id}"} for r in rows]


async def _page(request: web.Request) -> web.StreamResponse:
    dashboard, session = dashboard_of(request), session_of(request)
    wanted = await _filters(dashboard, request)
    items = await _first_page(dashboard, session, wanted)
    return render(
        request,
        "live.html",
        items=[i.as_json() for i in items],
        channels=await visible_channels(dashboard, session),
        states=STATES,
        channel=str(wanted.channel or ""),
        member=wanted.member_text,
        member_note=wanted.member_note,
        state=wanted.state or "",
    )


async def _first_page(dashboard: Dashboard, session: Session, wanted: Filters) -> list[FeedItem]:
    return await dashboard.feed.recent(
        FIRST_PAGE,
        guild_ids=session.visible_guilds(),
        channel_id=wanted.channel,
        state=wanted.state,
        author_ids=wanted.members,
    )


async def _session_over(dashboard: Dashboard, session: Session) -> bool:
    """Whether a session has ended since the stream opened: expired, or signed out in any dashboard (the
    record unreadable: taken as ended; the browser reconnects and is checked again)."""
    if session.expires < time.time():
        return True
    try:
        return await dashboard.logins.session_ended(session.csrf)
    except Exception as exc:
        log.warning("dashboard: a stream's session could not be checked (%s); it is closed", type(exc).__name__)
        return True


async def _events(request: web.Request) -> web.StreamResponse:
    """text/event-stream: `event: item` with one message's JSON each time it changes. The session is
    checked again every SESSION_CHECK_SECONDS; once it has ended (signed out, expired) the stream says
    `event: ended` and closes."""
    dashboard, session = dashboard_of(request), session_of(request)
    wanted = await _filters(dashboard, request)
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "X-Accel-Buffering": "no"})
    await response.prepare(request)
    async with dashboard.live.watch() as queue:
        # What changed between the page's render and this connection: the newest, sent again.
        first = await _first_page(dashboard, session, wanted)
        checked = written = time.monotonic()
        try:
            for old in reversed(first):
                await _send(response, old)
            while True:
                wait = min(SESSION_CHECK_SECONDS - (time.monotonic() - checked), KEEPALIVE_SECONDS)
                item: FeedItem | None = None
                with contextlib.suppress(TimeoutError):
                    item = await asyncio.wait_for(queue.get(), max(wait, 0.01))
                now = time.monotonic()
                if now - checked >= SESSION_CHECK_SECONDS:
                    checked = now
                    if await _session_over(dashboard, session):
                        await response.write(b"event: ended\ndata: {}\n\n")
                        break
                if item is not None and wanted.shows(session, item):
                    await _send(response, item)
                    written = now
                elif now - written >= KEEPALIVE_SECONDS:
                    await response.write(b": keepalive\n\n")
                    written = now
        except (ConnectionResetError, RuntimeError):  # the watcher went away
            return response
    with contextlib.suppress(ConnectionResetError, RuntimeError):
        await response.write_eof()
    return response


async def _send(response: web.StreamResponse, item: FeedItem) -> None:
    data = json.dumps(item.as_json(), ensure_ascii=False)
    await response.write(f"event: item\ndata: {data}\n\n".encode())


def add_routes(app: web.Application) -> None:
    app.router.add_get("/live", _page)
    app.router.add_get("/live/events", _events)
