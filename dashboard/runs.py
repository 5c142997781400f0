"""A message's run, as the record knows it: the judge's decision and reason, the model and why, what was
retrieved, each step of the graph with its timings (the "run" note the door writes from the stream),
every model call's tokens and cost, the tool calls, and the answer. Only for a session that may read the
message's server. Every text derived from the message (its words, the judge's reason, what was retrieved
for it, tool arguments and results, model errors, the answer) goes through the feed's one `shown`: a
private exchange's read "(private)", not even shown to the operator, a deleted message's "(deleted)". A
retrieved snippet drawn from another message (a /correct or /feedback about it) is checked against that
message as the page is drawn: deleted or made private since, it is masked too."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from aiohttp import web
from sqlalchemy import and_, select

from agent.memory import tables
from agent.memory.feed import FEED_TEXT_CHARS, FeedItem, shown, shown_note, withheld
from dashboard.context import Dashboard, dashboard_of, render, session_of
from dashboard.params import path_id
from dashboard.sessions import Session

SHOWN_CHARS = 600  # a tool result or an answer, as the page shows it
ARGUMENT_CHARS = 300
ERROR_CHARS = 300
# A retrieved snippet's source naming a message: "message:<id>", or guidance learnt from /correct or
# /feedback ("correction:<row>", "feedback:<row>"), whose text quotes the question the row is about.
MESSAGE_SOURCE = re.compile(r"^message:([0-9]{1,19})$")
FEEDBACK_SOURCE = re.compile(r"^(?:correction|feedback):([0-9]{1,19})$")


async def _item(dashboard: Dashboard, session: Session, message_id: int) -> FeedItem | None:
    """The message as Live shows it, or None when it is not in the record or not this session's to read."""
    m = tables.messages.c
    async with dashboard.engine.connect() as conn:
        rows = (await conn.execute(dashboard.feed._base().where(m.id == message_id))).all()
    items = await dashboard.feed._complete(rows)
    if not items or not session.may_read(items[0].guild_id):
        return None
    return items[0]


async def sources_withheld(dashboard: Dashboard, sources: Iterable[str]) -> dict[str, str]:
    """For each snippet source that names a message: what stands for it now ("(private)", "(deleted)"),
    when the message (or the question it answers) is private or deleted as the page is drawn."""
    m, f = tables.messages.c, tables.feedback.c
    direct: dict[str, int] = {}
    rows: dict[str, int] = {}
    for source in sources:
        if found := MESSAGE_SOURCE.match(source):
            direct[source] = int(found.group(1))
        elif found := FEEDBACK_SOURCE.match(source):
            rows[source] = int(found.group(1))
    if not direct and not rows:
        return {}
    async with dashboard.engine.connect() as conn:
        if rows:
            about = dict((await conn.execute(select(f.id, f.message_id).where(f.id.in_(set(rows.values()))))).all())
            direct |= {s: int(about[r]) for s, r in rows.items() if about.get(r) is not None}
        columns = select(m.id, m.answers_id, m.private, m.deleted_at)
        ids = set(direct.values())
        state = {r.id: r for r in (await conn.execute(columns.where(m.id.in_(ids)))).all()}
        asked = {int(r.answers_id) for r in state.values() if r.answers_id is not None} - ids
        if asked:  # the question a corrected answer answered: its words are in the guidance
            state |= {r.id: r for r in (await conn.execute(columns.where(m.id.in_(asked)))).all()}

    def of(message_id: int | None) -> str | None:
        row = state.get(message_id) if message_id is not None else None
        return None if row is None else withheld(bool(row.private), row.deleted_at is not None)

    masked = {}
    for source, message_id in direct.items():
        row = state.get(message_id)
        hidden = of(message_id) or (of(int(row.answers_id)) if row is not None and row.answers_id else None)
        if hidden is not None:
            masked[source] = hidden
    return masked


async def run_view(dashboard: Dashboard, item: FeedItem) -> dict[str, Any]:
    """Everything the page shows of one message's run, masked for a private or deleted message."""
    n, us, tc, m = tables.message_notes.c, tables.usage.c, tables.tool_calls.c, tables.messages.c
    hidden = item.hidden
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
    snippets = [s for s in run.get("retrieved") or [] if isinstance(s, dict)]
    sources = await sources_withheld(dashboard, [str(s.get("source", "")) for s in snippets])
    retrieved = []
    for s in snippets:
        masked = hidden or sources.get(str(s.get("source", "")))
        retrieved.append(
            {
                "kind": s.get("kind", ""),
                "source": shown(s.get("source", ""), hidden),  # a source names no words of the snippet's
                "score": s.get("score"),
                "text": shown(s.get("text"), masked, SHOWN_CHARS),
            }
        )
    return {
        "decision": item.decision,  # masked as the feed masks it
        "reply": shown_note(latest.get("reply"), hidden),
        # Only the run's figures: its words are shown above, each through `shown`.
        "run": {
            **{k: run[k] for k in ("persona", "total_ms") if k in run},
            "retrieved_count": int(run.get("retrieved_count") or len(retrieved)),
        },
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
                "error": shown(c.error, hidden, ERROR_CHARS),
            }
            for c in calls
        ],
        "tools": [
            {
                "at": t.created_at.strftime("%H:%M:%S"),
                "tool": t.tool,
                "source": t.source,
                "arguments": shown(t.arguments or {}, hidden, ARGUMENT_CHARS),
                "outcome": t.outcome,
                "result": shown(t.result, hidden, SHOWN_CHARS),
                "ms": float(t.ms or 0.0),
            }
            for t in tools
        ],
        "answers": [
            shown(a.content, hidden or withheld(bool(a.private), a.deleted_at is not None), SHOWN_CHARS)
            for a in answers
        ],
        "text_chars": FEED_TEXT_CHARS,
    }


async def _page(request: web.Request) -> web.StreamResponse:
    dashboard, session = dashboard_of(request), session_of(request)
    message_id = path_id(request, "message_id")
    item = None if message_id is None else await _item(dashboard, session, message_id)
    if item is None:  # not in the record and not yours read the same: nothing learned of other servers
        return render(request, "run.html", status=404, item=None)
    view = await run_view(dashboard, item)
    return render(request, "run.html", item=item.as_json(), **view)


def add_routes(app: web.Application) -> None:
    app.router.add_get(r"/runs/{message_id:[0-9]+}", _page)
