"""The Live page and its server-sent events: members' messages as they arrive and move through their
states, with the run's decision, model, tokens, cost and time to first token."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy import select

from agent.memory import tables
from agent.memory.feed import FeedItem
from agent.memory.progress import MessageState
from dashboard.context import Dashboard, dashboard_of, render, session_of
from dashboard.sessions import Session

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


@dataclass(frozen=True)
class Filters:
    """What the Live page was asked to show: one channel, one member (the ids of everyone by the name
    given, or the one id), one state; None: any. `member_text` is what was typed, for the form."""

    channel: int | None = None
    members: tuple[int, ...] | None = None
    state: str | None = None
    member_text: str = ""

    def shows(self, session: Session, item: FeedItem) -> bool:
        if not session.may_read(item.guild_id):
            return False
        return (
            (self.channel is None or item.channel_id == self.channel)
            and (self.members is None or item.author_id in self.members)
            and (self.state is None or item.state == self.state)
        )


def snowflake(value: str) -> int | None:
    """An id from a query string, or None when it is none (past 2**63: no snowflake, no database integer)."""
    return int(value) if value.isdigit() and int(value) < 1 << 63 else None


async def _filters(dashboard: Dashboard, request: web.Request) -> Filters:
    state = request.query.get("state", "")
    member = request.query.get("member", "").strip()[:100]
    members: tuple[int, ...] | None = None
    if member:
        by_id = snowflake(member)
        # A name matches every account of that name (the rows shown are still only the session's).
        members = (by_id,) if by_id is not None else await dashboard.feed.members_named(member)
    return Filters(
        channel=snowflake(request.query.get("channel", "")),
        members=members,
        state=state if state in STATES else None,
        member_text=member,
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


async def _events(request: web.Request) -> web.StreamResponse:
    """text/event-stream: `event: item` with one message's JSON each time it changes."""
    dashboard, session = dashboard_of(request), session_of(request)
    wanted = await _filters(dashboard, request)
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
    await response.prepare(request)
    async with dashboard.live.watch() as queue:
        # What changed between the page's render and this connection: the newest, sent again.
        first = await _first_page(dashboard, session, wanted)
        try:
            for item in reversed(first):
                await _send(response, item)
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    await response.write(b": keepalive\n\n")
                    continue
                if wanted.shows(session, item):
                    await _send(response, item)
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
