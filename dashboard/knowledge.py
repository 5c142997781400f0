"""The Knowledge page: a server's personas, documents and World Info lore; uploading a persona card or a
document as `/persona add` and `/dataset add` do (the same limits, refusals and ingest); and what a
message would retrieve, as `observer persona search` shows it. Only for servers the session manages (the
operator: also what every server shares). Files come only as uploads: no path is ever taken."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web
from sqlalchemy import select

from agent.errors import ConfigError
from agent.memory import tables
from agent.memory.feed import shown
from agent.memory.listing import documents, lore, shown_source
from agent.memory.persona_search import persona_search
from agent.memory.personas import DEFAULT_PERSONA
from agent.memory.scopes import GLOBAL, readable_scopes, scope_of
from agent.memory.uploads import (
    DOCUMENT_UPLOADS,
    MAX_UPLOAD_BYTES,
    PERSONA_UPLOADS,
    ingest_upload,
    refusal,
    safe_filename,
    too_large,
)
from dashboard.context import Dashboard, dashboard_of, render, session_of
from dashboard.forms import read_upload
from dashboard.guilds import page_guild
from dashboard.params import MAX_ID, BadParameter, ascii_int, query_id
from dashboard.runs import sources_withheld
from dashboard.sessions import Session
from dashboard.stores import KnowledgeStores

log = logging.getLogger(__name__)
QUERY_CHARS = 500  # a search is a message's worth
TEXT_CHARS = 400  # a lore entry or a search hit, as the page shows it
WHAT = "the personas and knowledge"


def _where(scope: str) -> str:
    return "every server" if scope == GLOBAL else "this server"


async def _guild_of(
    request: web.Request, session: Session, raw: str, first: bool = True
) -> tuple[int | None, list[tuple[int, str]]]:
    """The server the page is about (None: what every server shares, the operator's alone; a member's
    first server when `first` and none is named) and the servers the session may choose from. A server
    it does not manage: 403."""
    return await page_guild(request, session, raw, WHAT, first)


async def _channels(dashboard: Dashboard, guild: int | None) -> list[tuple[int, str]]:
    if guild is None:
        return []
    c = tables.channels.c
    query = select(c.id, c.name).where(c.guild_id == guild, c.is_dm.is_(False)).order_by(c.name)
    async with dashboard.engine.connect() as conn:
        return [(int(r.id), r.name or str(r.id)) for r in (await conn.execute(query)).all()]


def _listing(stores: KnowledgeStores, scopes: list[str]) -> dict[str, Any]:
    """Blocking (Chroma): the documents and lore entries of each scope."""
    docs = [
        {"source": d.source, "chunks": d.chunks, "where": _where(scope)}
        for scope in scopes
        for d in documents(stores.memory, scope)
    ]
    entries = [
        {
            "source": e.source,
            "persona": e.persona or "every persona",
            "keywords": ", ".join(e.keywords) or "(always, or by similarity)",
            "text": e.text[:TEXT_CHARS] + ("…" if len(e.text) > TEXT_CHARS else ""),
            "where": _where(scope),
        }
        for scope in scopes
        for e in lore(stores.memory, scope)
    ]
    return {"documents": docs, "lore": entries}


async def _search(
    dashboard: Dashboard, stores: KnowledgeStores, query: str, guild: int | None, persona: str, channel: int | None
) -> dict[str, Any]:
    found = await asyncio.to_thread(
        persona_search, stores.memory, dashboard.settings, query, guild=guild, persona=persona, channel=channel
    )
    # Guidance learnt about a message quotes it: masked once that message is private or deleted.
    masked = await sources_withheld(dashboard, [c.source for c in found.candidates])
    return {
        "embed_ms": found.embed_ms,
        "search_ms": found.search_ms,
        "hits": [
            {
                "chosen": c.chosen,
                "how": c.how,
                "kind": c.kind,
                "source": shown(shown_source(c.source), masked.get(c.source)),
                "text": shown(c.text, masked.get(c.source), TEXT_CHARS),
            }
            for c in found.candidates
        ],
    }


async def _view(request: web.Request, guild: int | None, known: list[tuple[int, str]], **more: Any) -> dict[str, Any]:
    """Everything the page shows of `guild` (None: the shared scope), with a search when asked for."""
    dashboard, session = dashboard_of(request), session_of(request)
    scopes = readable_scopes(guild, None)
    view: dict[str, Any] = {
        "guild": "" if guild is None else str(guild),
        "guilds": [(str(g), n) for g, n in known],
        "operator": session.kind == "operator",
        "no_server": guild is None and session.kind != "operator",
        "channels": [(str(c), n) for c, n in await _channels(dashboard, guild)],
        "personas": [],
        "documents": [],
        "lore": [],
        "limit_mb": MAX_UPLOAD_BYTES // 1024 // 1024,
        "persona_types": ", ".join(sorted(PERSONA_UPLOADS)),
        "document_types": ", ".join(sorted(DOCUMENT_UPLOADS)),
        "query": "",
        "persona": DEFAULT_PERSONA,
        "default_persona": DEFAULT_PERSONA,
        "channel": "",
        "search": None,
        "problem": "",
        **more,
    }
    if view["no_server"]:
        return view
    try:
        stores = await dashboard.knowledge.stores()
    except ConfigError as exc:
        view["problem"] = str(exc)
        return view
    stored = await stores.personas.listing(scopes)
    view["personas"] = [
        {
            "name": p.card.name,
            "where": _where(p.scope),
            "about": (p.card.description.strip().splitlines() or [""])[0][:160],
            "source": shown_source(p.card.source),
        }
        for p in stored
    ]
    view |= await asyncio.to_thread(_listing, stores, scopes)
    query = request.query.get("q", "").strip()[:QUERY_CHARS] if request.method == "GET" else ""
    if query:
        names = {p.card.name for p in stored} | {DEFAULT_PERSONA}
        persona = request.query.get("persona") or DEFAULT_PERSONA
        if persona not in names:
            raise BadParameter("persona", "the name of a persona listed on this page", persona)
        channel = query_id(request, "channel")
        if channel is not None and channel not in {c for c, _ in await _channels(dashboard, guild)}:
            raise BadParameter("channel", "one of this server's channels", str(channel))
        view |= {"query": query, "persona": persona, "channel": "" if channel is None else str(channel)}
        view["search"] = await _search(dashboard, stores, query, guild, persona, channel)
    return view


async def _page(request: web.Request) -> web.StreamResponse:
    session = session_of(request)
    guild, known = await _guild_of(request, session, request.query.get("guild", "").strip())
    return render(request, "knowledge.html", **await _view(request, guild, known))


async def _upload(request: web.Request) -> web.StreamResponse:
    dashboard, session = dashboard_of(request), session_of(request)
    form = await read_upload(request, MAX_UPLOAD_BYTES)
    # An upload names its server: never "the first one" by default.
    guild, known = await _guild_of(request, session, form.fields.get("guild", "").strip(), first=False)
    if guild is None and session.kind != "operator":
        raise web.HTTPForbidden(text=f"You may not change {WHAT} of any server (Manage Server is needed in it).\n")
    kind = form.fields.get("kind")
    if kind not in ("persona", "document"):
        raise web.HTTPBadRequest(text="kind must be persona or document\n")

    async def answer(status: int, notice: str) -> web.Response:
        """The page again, saying what became of the upload."""
        view = await _view(request, guild, known, notice=notice, notice_ok=status == 200)
        return render(request, "knowledge.html", status=status, **view)

    if not form.filename:
        return await answer(400, "Choose a file to upload.")
    name = safe_filename(form.filename)
    allowed = PERSONA_UPLOADS if kind == "persona" else DOCUMENT_UPLOADS
    refused = too_large(name, form.size) if form.over else refusal(name, form.size, allowed)
    if refused is not None:
        return await answer(413 if form.over or form.size > MAX_UPLOAD_BYTES else 400, refused)
    channel, persona = None, None
    if kind == "persona":
        channel = await _world_info_channel(dashboard, guild, form.fields.get("where", ""))
    else:
        persona = form.fields.get("persona", "").strip() or None
    try:
        stores = await dashboard.knowledge.stores()
    except ConfigError as exc:
        return await answer(503, f"Nothing was added. {exc}")
    said = await ingest_upload(
        stores.personas,
        stores.memory,
        stores.limits,
        name,
        form.data,
        scope=scope_of(guild),
        persona=persona,
        channel=channel,
    )
    ok = not said.startswith("Nothing was added")
    if ok:  # who changed what the bot knows is an operator's to read later
        log.warning("dashboard: %s %s added to %s by %s", kind, name, scope_of(guild), session.who)
    return await answer(200 if ok else 400, said)


async def _world_info_channel(dashboard: Dashboard, guild: int | None, raw: str) -> int | None:
    """World Info for one channel of this server (`where`), or None for the whole server."""
    raw = raw.strip()
    if not raw or raw == "server":
        return None
    channel = ascii_int(raw, 0, MAX_ID)
    if channel is None or channel not in {c for c, _ in await _channels(dashboard, guild)}:
        raise web.HTTPBadRequest(text="where: the whole server, or one of this server's channels\n")
    return channel


def add_routes(app: web.Application) -> None:
    app.router.add_get("/knowledge", _page)
    app.router.add_post("/knowledge/upload", _upload)
