"""Which servers a session may run from the dashboard, and the one check every page that changes a
server's settings makes: the server is in the record and the session manages it (a member's session
holds exactly the servers where they have Manage Server or an admin role; the operator has all)."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from agent.memory import tables
from dashboard.context import Dashboard, dashboard_of
from dashboard.params import MAX_ID, BadParameter, ascii_int
from dashboard.sessions import Session


async def guild_names(dashboard: Dashboard, visible: tuple[int, ...] | None) -> dict[int, str]:
    """The names of the servers a session may read (`visible`: Session.visible_guilds())."""
    g = tables.guilds.c
    query = select(g.id, g.name)
    if visible is not None:
        query = query.where(g.id.in_(sorted(visible)))
    async with dashboard.engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return {int(r.id): r.name or str(r.id) for r in rows}


async def managed(dashboard: Dashboard, session: Session) -> list[tuple[int, str]]:
    """The servers this session may change, by name."""
    names = await guild_names(dashboard, session.visible_guilds())
    return sorted(((g, n) for g, n in names.items() if session.may_read(g)), key=lambda gn: (gn[1].lower(), gn[0]))


def require_manager(session: Session, guild_id: int | None, known: list[tuple[int, str]], what: str) -> int:
    """`guild_id` when this session may change `what` there; else 403, the same for a server that does
    not exist and one the session does not manage (nothing is learnt about other servers)."""
    if guild_id is None or guild_id not in {g for g, _ in known} or not session.may_read(guild_id):
        raise web.HTTPForbidden(text=f"You may not change {what} of this server (Manage Server is needed in it).\n")
    return guild_id


async def page_guild(
    request: web.Request, session: Session, raw: str, what: str, first: bool = True
) -> tuple[int | None, list[tuple[int, str]]]:
    """The server a page is about, from its `guild` parameter (None: none named — for a member, their
    first server when `first`), and the servers the session may choose from. A bad id: 400; a server it
    does not manage: 403 (`what` names what may not be changed)."""
    known = await managed(dashboard_of(request), session)
    raw = raw.strip()
    guild = ascii_int(raw, 0, MAX_ID) if raw else None
    if raw and guild is None:
        raise BadParameter("guild", "a Discord id (digits 0-9, at most 19 of them)", raw)
    if guild is None and session.kind != "operator" and known and first:
        guild = known[0][0]
    if guild is not None:
        require_manager(session, guild, known, what)
    return guild, known
