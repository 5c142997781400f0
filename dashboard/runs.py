"""A message's run, as the record knows it: the judge's decision and reason, the model and why, what was
retrieved, each step of the graph with its timings (the "run" note the door writes from the stream),
every model call's tokens and cost, the tool calls, and the answer. Only for a session that may read the
message's server; a private exchange's words (its text, what was retrieved for it, tool arguments and
results, the answer) are not shown, not even to the operator, and a deleted message's text is gone."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from sqlalchemy import and_, select

from agent.memory import tables
from agent.memory.feed import FEED_TEXT_CHARS, FeedItem
from agent.redact import redact
from dashboard.context import Dashboard, dashboard_of, render, session_of
from dashboard.live_pages import snowflake
from dashboard.sessions import Session

SHOWN_CHARS = 600  # a tool result or an answer, as the page shows it
PRIVATE = "(private)"


async def _item(dashboard: Dashboard, session: Session, message_id: int) -> FeedItem | None:
    """The message as Live shows it, or None when it is not in the record or not this session's to read."""
    m = tables.messages.c
    async with dashboard.engine.connect() as conn:
        rows = (await conn.execute(dashboard.feed._base().where(m.id == message_id))).all()
    items = await dashboard.feed._complete(rows)
    if not items or not session.may_read(items[0].guild_id):
        return None
    return items[0]


def _shown(text: str | None, hidden: bool) -> str:
    if hidden:
        return PRIVATE
    text = text or ""
    return redact(text[:SHOWN_CHARS]) + ("…" if len(text) > SHOWN_CHARS else "")


async def run_view(dashboard: Dashboard, item: FeedItem) -> dict[str, Any]:
    """Everything the page shows of one message's run, masked for a private exchange."""
    n, us, tc, m = tables.message_notes.c, tables.usage.c, tables.tool_calls.c, tables.messages.c
    hidden = item.private
    async with dashboard.engine.connect() as conn:
        notes = (
            await conn.execute(
                select(n.kind, n.data, n.created_at).where(n.message_id == item.message_id).order_by(n.id)
            )
        ).all()
        calls = (
            await conn.execute(
                select(us.created_at, us.purpose, us.model, us.tokens_in, us.tokens_out, us.cost_usd, us.latency_ms)
                .add_columns(us.ok, us.error)
                .where(us.message_id == item.message_id)
                .order_by(us.id)
            )
        ).all()
        tools = (
            await conn.execute(
                select(tc.created_at, tc.tool, tc.source, tc.arguments, tc.outcome, tc.result, tc.ms)
                .where(tc.message_id == item.message_id)
                .order_by(tc.id)
            )
        ).all()
        answers = (
            await conn.execute(
                select(m.id, m.content, m.deleted_at, m.private)
                .where(and_(m.answers_id == item.message_id))
                .order_by(m.id)
            )
        ).all()
    latest: dict[str, dict[str, Any]] = {}
    for note in notes:  # oldest first: a resumed run's newer note wins
        latest[note.kind] = dict(note.data or {})
    run = latest.get("run", {})
    retrieved = [
        {
            "kind": s.get("kind", ""),
            "source": PRIVATE if hidden else redact(str(s.get("source", ""))),
            "score": s.get("score"),
            "text": _shown(s.get("text"), hidden),
        }
        for s in run.get("retrieved") or []
    ]
    return {
        "decision": {k: redact(v) if isinstance(v, str) else v for k, v in latest.get("decision", {}).items()},
        "reply": latest.get("reply", {}),
        "run": run,
        "steps": run.get("steps") or [],
        "timings": sorted((run.get("timings") or {}).items()),
        "retrieved": retrieved,
        "calls": [
            {
                "at": c.created_at.strftime("%H:%M:%S"),
                "purpose": c.purpose,
                "model": c.model,
                "tokens_in": int(c.tokens_in or 0),
                "tokens_out": int(c.tokens_out or 0),
                "cost_usd": float(c.cost_usd or 0.0),
                "ms": float(c.latency_ms or 0.0),
                "ok": bool(c.ok),
                "error": redact(c.error or "")[:300],
            }
            for c in calls
        ],
        "tools": [
            {
                "at": t.created_at.strftime("%H:%M:%S"),
                "tool": t.tool,
                "source": t.source,
                "arguments": PRIVATE if hidden else redact(json.dumps(t.arguments or {}, ensure_ascii=False)[:300]),
                "outcome": t.outcome,
                "result": _shown(t.result, hidden),
                "ms": float(t.ms or 0.0),
            }
            for t in tools
        ],
        "answers": [
            "(deleted)" if a.deleted_at is not None else _shown(a.content, hidden or bool(a.private)) for a in answers
        ],
        "text_chars": FEED_TEXT_CHARS,
    }


async def _page(request: web.Request) -> web.StreamResponse:
    dashboard, session = dashboard_of(request), session_of(request)
    message_id = snowflake(request.match_info["message_id"])
    item = None if message_id is None else await _item(dashboard, session, message_id)
    if item is None:  # not in the record and not yours read the same: nothing learned of other servers
        return render(request, "run.html", status=404, item=None)
    view = await run_view(dashboard, item)
    return render(request, "run.html", item=item.as_json(), **view)


def add_routes(app: web.Application) -> None:
    app.router.add_get(r"/runs/{message_id:\d+}", _page)
