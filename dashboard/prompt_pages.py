"""The Prompts page: the prompt files (prompts/*.md: the host's, shown read-only) and each server's own
versions, which that server's managers edit here: the text in a textarea, the changes shown as a diff
before anything is saved, every placeholder checked as the bot checks it (a bad one: the line named,
nothing saved), saved in one step, reset by deleting the server's version. The bot reads the change on
its next message in that server (no restart)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Any

from aiohttp import web

from agent.prompt_overrides import (
    check_override,
    default_text,
    normalized,
    override_text,
    remove_override,
    save_override,
)
from agent.prompts import OPTIONAL_VARIABLES, PROMPT_VARIABLES, PromptError
from dashboard.context import dashboard_of, render, session_of
from dashboard.diffs import unified
from dashboard.guilds import page_guild
from dashboard.sessions import Session

log = logging.getLogger(__name__)
PROMPT_CHARS = 60_000  # within the dashboard's 64 KB form limit
WHAT = "the prompts"


def _prompt_name(request: web.Request) -> str:
    name = request.match_info["name"]
    if name not in PROMPT_VARIABLES:
        raise web.HTTPNotFound(text="No such prompt.\n")
    return name


async def _guild_of(
    request: web.Request, session: Session, raw: str, first: bool = True
) -> tuple[int | None, list[tuple[int, str]]]:
    """The server whose versions are shown (None: only the files, read-only; a member's first server
    when `first` and none is named) and those the session may choose from. One it does not manage: 403."""
    return await page_guild(request, session, raw, WHAT, first)


def _placeholders(name: str) -> dict[str, str]:
    return {
        "required": ", ".join("{" + v + "}" for v in sorted(PROMPT_VARIABLES[name])) or "none",
        "optional": ", ".join("{" + v + "}" for v in sorted(OPTIONAL_VARIABLES.get(name, frozenset()))),
    }


def previewed_token(current: str, text: str) -> str:
    """Names what a preview showed (the text it was made against, and the new text): a save carrying
    another is shown again instead of saved. Not a secret (the CSRF token guards the form)."""
    return hashlib.sha256(f"{len(current)}:{current}{text}".encode()).hexdigest()


async def _list(request: web.Request) -> web.StreamResponse:
    dashboard, session = dashboard_of(request), session_of(request)
    guild, known = await _guild_of(request, session, request.query.get("guild", ""))
    own: dict[str, bool] = {}
    for name in PROMPT_VARIABLES:
        found = None if guild is None else await asyncio.to_thread(override_text, dashboard.prompts, name, guild)
        own[name] = found is not None
    return render(
        request,
        "prompts.html",
        names=list(PROMPT_VARIABLES),
        own=own,
        guild="" if guild is None else str(guild),
        guilds=[(str(g), n) for g, n in known],
        no_server=guild is None and session.kind != "operator",
    )


async def _prompt_view(
    request: web.Request, name: str, guild: int | None, known: list[tuple[int, str]], **more: Any
) -> dict[str, Any]:
    library = dashboard_of(request).prompts
    default = await asyncio.to_thread(default_text, library, name)
    own = None if guild is None else await asyncio.to_thread(override_text, library, name, guild)
    return {
        "name": name,
        "guild": "" if guild is None else str(guild),
        "guild_name": dict(known).get(guild, "") if guild is not None else "",
        "guilds": [(str(g), n) for g, n in known],
        "default": default,
        "own": own,
        "text": own if own is not None else default,
        "max_chars": PROMPT_CHARS,
        "diff": None,
        "error": None,
        "note": "",
        "previewed": "",
        "saved": request.query.get("saved", "") if request.method == "GET" else "",
        **_placeholders(name),
        **more,
    }


async def _prompt(request: web.Request) -> web.StreamResponse:
    name = _prompt_name(request)
    session = session_of(request)
    guild, known = await _guild_of(request, session, request.query.get("guild", ""))
    if guild is None and session.kind != "operator":  # the host's prompts, for those who run a server
        raise web.HTTPForbidden(text="You manage no server the bot is in (Manage Server is needed).\n")
    return render(request, "prompt.html", **await _prompt_view(request, name, guild, known))


async def _edit(request: web.Request) -> tuple[str, int, list[tuple[int, str]], Any]:
    """A POST's prompt, server (one the session manages) and form."""
    name = _prompt_name(request)
    form = await request.post()
    raw = form.get("guild")
    # A change names its server: never "the first one" by default.
    guild, known = await _guild_of(request, session_of(request), raw if isinstance(raw, str) else "", first=False)
    if guild is None:  # the files themselves are the host's
        raise web.HTTPForbidden(text="The prompt files are the host's; choose a server to give it its own version.\n")
    return name, guild, known, form


async def _preview(request: web.Request, *, save: bool) -> web.StreamResponse:
    """Preview (the diff) or save the text sent; a save is only made of what a preview showed."""
    name, guild, known, form = await _edit(request)
    raw = form.get("text")
    if not isinstance(raw, str):
        raise web.HTTPBadRequest(text="text: the prompt's text is missing\n")
    text = normalized(raw)
    library = dashboard_of(request).prompts
    own = await asyncio.to_thread(override_text, library, name, guild)
    current = own if own is not None else await asyncio.to_thread(default_text, library, name)
    diff = unified(current, text, f"{name}.md (now)", f"{name}.md (yours)")
    view = await _prompt_view(request, name, guild, known, text=text, diff=diff)
    if len(text) > PROMPT_CHARS:
        view["error"] = {"line": None, "problem": f"the text is over {PROMPT_CHARS:,} characters"}
        return render(request, "prompt.html", status=400, **view)
    try:
        check_override(name, text)
    except PromptError as exc:
        view["error"] = {"line": exc.line, "problem": exc.problem}
        return render(request, "prompt.html", status=400, **view)
    if not diff:
        view["note"] = "No change: this is the text the server uses now."
        return render(request, "prompt.html", **view)
    token = previewed_token(current, text)
    if not save or form.get("previewed") != token:
        if save:  # edited after the preview, or someone saved meanwhile: show what this save would do
            view["note"] = "The text or this server's prompt changed since the preview: check the changes, then save."
        view["previewed"] = token
        return render(request, "prompt.html", status=409 if save else 200, **view)
    await asyncio.to_thread(save_override, library, name, guild, text)
    log.warning("dashboard: prompt %s of guild %d saved by %s", name, guild, session_of(request).who)
    raise web.HTTPFound(f"/prompts/{name}?guild={guild}&saved=saved")


async def _preview_page(request: web.Request) -> web.StreamResponse:
    return await _preview(request, save=False)


async def _save(request: web.Request) -> web.StreamResponse:
    return await _preview(request, save=True)


async def _reset(request: web.Request) -> web.StreamResponse:
    name, guild, _known, _form = await _edit(request)
    if await asyncio.to_thread(remove_override, dashboard_of(request).prompts, name, guild):
        log.warning("dashboard: prompt %s of guild %d reset by %s", name, guild, session_of(request).who)
    raise web.HTTPFound(f"/prompts/{name}?guild={guild}&saved=reset")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/prompts", _list)
    app.router.add_get(r"/prompts/{name:[a-z_]+}", _prompt)
    app.router.add_post(r"/prompts/{name:[a-z_]+}/preview", _preview_page)
    app.router.add_post(r"/prompts/{name:[a-z_]+}/save", _save)
    app.router.add_post(r"/prompts/{name:[a-z_]+}/reset", _reset)
