"""The dashboard after a fresh tester's findings: an open event stream ends with its session; every text
derived from a private or deleted message is masked wherever it shows (Live, the stream, the run view,
other runs' retrieved snippets); numbers in queries are ASCII digits in range or a 400 naming the
parameter, and every error carries the security headers; the member filter matches any case in Unicode,
proxied names and all-digit names, and says when it capped; Usage reads only the names it shows; every
shown text is redacted; `observer dashboard link --port`."""
# ruff: noqa: F811  (the fixtures are test_dashboard_pages's, imported)

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import event, insert, update

from agent.ids import stable_id
from agent.memory import tables
from agent.services import Services
from dashboard import live_pages
from dashboard.app import HEADERS
from dashboard.context import Dashboard
from dashboard.sessions import COOKIE, Session
from tests.conftest import make_event
from tests.dashboard.signing import csrf_of, discord_client
from tests.dashboard.test_dashboard_http import fresh_client
from tests.dashboard.test_dashboard_pages import (  # noqa: F401  (fixtures)
    ALICE,
    BOB,
    GUILD,
    MEMBER,
    asked_message_id,
    filled,
    operator,
    rows_of,
)

CHANNEL = stable_id("channel", "general")
WORD = "PLATYPUSWORD"  # in every text derived from the message
API_KEY = "sk-test-THISKEYMUSTNEVERSHOW1234567890"


async def read_until(events: Any, wanted: str, seconds: float = 30) -> str:
    """The stream's text up to and including the chunk that contains `wanted`."""
    seen = ""
    async with asyncio.timeout(seconds):
        while wanted not in seen:
            chunk = await events.content.readuntil(b"\n\n")
            seen += chunk.decode()
    return seen


# 1. An open stream ends with its session.


async def test_an_open_event_stream_ends_at_sign_out_and_at_expiry(
    operator: TestClient, dashboard: Dashboard, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(live_pages, "SESSION_CHECK_SECONDS", 0.2, raising=False)
    events = await operator.get("/live/events")
    await read_until(events, "event: item")  # the first page, sent again
    token = csrf_of(await (await operator.get("/live")).text())
    assert (await operator.post("/logout", data={"csrf": token}, allow_redirects=False)).status == 302
    await read_until(events, "event: ended", 10)
    async with asyncio.timeout(10):
        assert await events.content.read() == b""  # closed by the server
    events.close()

    # A session that expires while its stream is open (12 h later, here in a second).
    short = dashboard.codec.encode(Session(kind="operator", name="link", expires=time.time() + 1.5))
    client = await fresh_client(dashboard)
    try:
        client.session.cookie_jar.update_cookies({COOKIE: short})
        stream = await client.get("/live/events")
        assert stream.status == 200
        await read_until(stream, "event: ended", 10)
        stream.close()
    finally:
        await client.close()


# 2 and 3. Every text derived from a private or deleted message is masked, by one function.


async def note_everything(dashboard: Dashboard, message_id: int) -> None:
    """The run's notes, tool call and a failed model call, each quoting the message's words."""
    now = datetime.now(UTC)
    n = tables.message_notes
    async with dashboard.engine.begin() as conn:
        await conn.execute(
            insert(n).values(
                message_id=message_id,
                created_at=now,
                kind="decision",
                data={
                    "respond": True,
                    "source": "judge",
                    "reason": f"the member asks about {WORD}",
                    "model": "chat",
                    "model_reason": f"a question on {WORD}",
                    "paraphrase": f"a field added later: {WORD}",
                },
            )
        )
        await conn.execute(
            insert(n).values(
                message_id=message_id,
                created_at=now,
                kind="reply",
                data={"model": "chat", "first_token_ms": 12.0, "failure": f"refused: {WORD}"},
            )
        )
        await conn.execute(
            insert(n).values(
                message_id=message_id,
                created_at=now,
                kind="run",
                data={
                    "retrieved": [{"kind": "lore", "source": "notes.md", "score": 0.9, "text": f"lore {WORD}"}],
                    "retrieved_count": 1,
                },
            )
        )
        await conn.execute(
            insert(tables.tool_calls).values(
                created_at=now,
                message_id=message_id,
                guild_id=GUILD,
                channel_id=CHANNEL,
                user_id=ALICE,
                tool="web_search",
                source="built-in",
                arguments={"query": f"args {WORD}"},
                outcome="ok",
                result=f"result {WORD}",
                ms=5.0,
            )
        )
        await conn.execute(
            insert(tables.usage).values(
                created_at=now,
                message_id=message_id,
                guild_id=GUILD,
                channel_id=CHANNEL,
                user_id=ALICE,
                purpose="reply",
                model="chat",
                tokens_in=1,
                tokens_out=1,
                cost_usd=0.0,
                latency_ms=1.0,
                ok=False,
                error=f"the provider refused {WORD}",
            )
        )


async def everywhere(operator: TestClient, message_id: int) -> dict[str, str]:
    """Live, its event stream's first page, and the run view."""
    events = await operator.get("/live/events")
    stream = await read_until(events, f'"id": "{message_id}"')
    events.close()
    return {
        "live": await (await operator.get("/live")).text(),
        "stream": stream,
        "run": await (await operator.get(f"/runs/{message_id}")).text(),
    }


async def test_the_judges_reason_and_every_other_text_of_a_private_message_are_masked(
    operator: TestClient, dashboard: Dashboard
):
    asked = await asked_message_id(dashboard)
    await note_everything(dashboard, asked)
    shown = await everywhere(operator, asked)
    assert all(WORD in page for page in shown.values()), "shown while the message is public"
    async with dashboard.engine.begin() as conn:
        await conn.execute(update(tables.messages).where(tables.messages.c.id == asked).values(private=True))
    for where, page in (await everywhere(operator, asked)).items():
        assert WORD not in page and "(private)" in page, where


async def test_a_deleted_messages_run_and_other_runs_snippets_of_it_are_masked(
    operator: TestClient, dashboard: Dashboard, filled: Services
):
    asked = await asked_message_id(dashboard)
    await note_everything(dashboard, asked)
    # Guidance learnt from a /correct of the answer quotes the question; another run retrieved it, and
    # one retrieved the question itself.
    [answer] = [line for line in await dashboard.record.window(CHANNEL, 10) if "Miso" in line.text]
    correction = await dashboard.record.add_feedback(
        kind="correction", user_id=BOB, text="Mochi", message_id=answer.message_id, guild_id=GUILD, channel_id=CHANNEL
    )
    other = next(i.message_id for i in await dashboard.feed.recent(10) if i.text == "lol nice")
    async with dashboard.engine.begin() as conn:
        await conn.execute(
            insert(tables.message_notes).values(
                message_id=other,
                created_at=datetime.now(UTC),
                kind="run",
                data={
                    "retrieved": [
                        {"kind": "guidance", "source": f"correction:{correction}", "score": 0.8, "text": f"G {WORD}"},
                        {"kind": "lore", "source": f"message:{asked}", "score": 0.7, "text": f"M {WORD}"},
                        {"kind": "lore", "source": "notes.md", "score": 0.6, "text": "unrelated lore"},
                    ],
                    "retrieved_count": 3,
                },
            )
        )
    before = await (await operator.get(f"/runs/{other}")).text()
    assert f"G {WORD}" in before and f"M {WORD}" in before
    await dashboard.record.mark_deleted(asked)
    await dashboard.record.flush()
    for where, page in (await everywhere(operator, asked)).items():
        assert WORD not in page and "Miso" not in page and "(deleted)" in page, where
    after = await (await operator.get(f"/runs/{other}")).text()
    assert WORD not in after and "unrelated lore" in after and after.count("(deleted)") >= 2


# 4. Numbers in queries, and the headers of every error.


async def test_numbers_in_queries_are_ascii_digits_in_range_or_a_400_naming_them(
    operator: TestClient, dashboard: Dashboard, monkeypatch: pytest.MonkeyPatch
):
    def headed(response: Any) -> None:
        for name, value in HEADERS.items():
            assert response.headers.get(name) == value, (response.url, name)

    for path, name in (
        ("/live?channel=%C2%B2", "channel"),
        ("/live/events?channel=%C2%B2", "channel"),
        ("/live?channel=999999999999999999999999", "channel"),
        ("/usage?guild=%C2%B2", "guild"),
        ("/usage?days=%C2%B2", "days"),
        ("/usage?days=0", "days"),
        ("/usage?days=367", "days"),
        ("/usage?days=%D9%A3", "days"),  # an Arabic-Indic three
    ):
        response = await operator.get(path)
        text = await response.text()
        assert response.status == 400 and f"'{name}'" in text and "Traceback" not in text, path
        headed(response)
    # A name that is all digits, or Unicode digits, is a name: no error.
    assert (await operator.get("/live?member=%C2%B2")).status == 200
    assert (await operator.get("/usage?days=7")).status == 200
    for path in ("/runs/%C2%B2", "/runs/%D9%A3", "/nowhere"):
        response = await operator.get(path)
        assert response.status == 404, path
        headed(response)
    token = csrf_of(await (await operator.get("/channels")).text())
    refused = await operator.post("/channels/%C2%B2/mode", data={"mode": "off", "csrf": token})
    assert refused.status == 404
    headed(refused)

    async def broken(*_args: Any, **_kw: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(dashboard.feed, "recent", broken)
    failed = await operator.get("/live")
    assert failed.status == 500 and "a bug" not in await failed.text()
    headed(failed)


# 5. The member filter.


async def test_the_member_filter_matches_any_case_proxied_and_digit_names_and_says_when_it_capped(
    operator: TestClient, filled: Services
):
    record = filled.record
    await record.store_event(make_event("bonjour Élodie here", author="Élodie"), state="skipped")
    await record.store_event(make_event("a line from Ωmega", author="Ωmega"), state="skipped")
    await record.store_event(make_event("a proxied line", author="carol", shown_name="Sky Ärger"), state="skipped")
    await record.store_event(make_event("digits speak", author="12345"), state="skipped")
    for n in range(22):
        await record.store_event(make_event(f"sam number {n}", author="Sam", author_id=10_000 + n), state="skipped")
    await record.flush()
    for query, words in (
        ("élodie", "bonjour Élodie here"),
        ("ÉLODIE", "bonjour Élodie here"),
        ("ωMEGA", "a line from Ωmega"),
        ("sky ärger", "a proxied line"),
        ("SKY ÄRGER", "a proxied line"),
        ("12345", "digits speak"),
    ):
        html = await (await operator.get("/live", params={"member": query})).text()
        assert words in rows_of(html), query
        assert "lol nice" not in rows_of(html), query
    capped = await (await operator.get("/live?member=sam")).text()
    assert 'id="member-note"' in capped and "More than 20 accounts" in capped
    assert 'id="member-note"' not in await (await operator.get("/live?member=bob")).text()


# 6. Usage reads only the names it shows.


async def test_usage_reads_no_whole_users_table(
    operator: TestClient, dashboard: Dashboard, oauth: Any, filled: Services
):
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        statements.append(" ".join(statement.split()))

    event.listen(dashboard.engine.sync_engine, "before_cursor_execute", seen)
    try:
        member = await discord_client(dashboard, oauth, MEMBER)  # manages no server: sees nothing
        try:
            statements.clear()
            assert (await member.get("/usage")).status == 200
            assert not [s for s in statements if "FROM users" in s], statements
        finally:
            await member.close()
        statements.clear()
        html = await (await operator.get("/usage")).text()
        assert "alice" in html
        whole = [s for s in statements if s.startswith("SELECT users.id, users.name FROM users") and "WHERE" not in s]
        assert not whole, whole
        assert any(s.startswith("SELECT users.id, users.name FROM users WHERE users.id IN") for s in statements)
    finally:
        event.remove(dashboard.engine.sync_engine, "before_cursor_execute", seen)


# 7. Every shown text goes through the one redaction.


async def test_a_replys_failure_is_redacted(operator: TestClient, dashboard: Dashboard):
    asked = await asked_message_id(dashboard)
    async with dashboard.engine.begin() as conn:
        await conn.execute(
            insert(tables.message_notes).values(
                message_id=asked,
                created_at=datetime.now(UTC),
                kind="reply",
                data={"model": "chat", "failure": f"provider said: invalid key {API_KEY}"},
            )
        )
    events = await operator.get("/live/events")
    stream = await read_until(events, f'"id": "{asked}"')
    events.close()
    for page in (
        stream,
        await (await operator.get("/live")).text(),
        await (await operator.get(f"/runs/{asked}")).text(),
    ):
        assert API_KEY not in page
    run = await (await operator.get(f"/runs/{asked}")).text()
    assert "provider said: invalid key [redacted]" in run


# 8. `observer dashboard link --port`.


async def test_dashboard_link_takes_host_and_port_after_link(dashboard: Dashboard):
    from command_line.main import _parser
    from dashboard.serve import login_link

    parser = _parser()
    for argv in (["dashboard", "link", "--port", "8791"], ["dashboard", "--port", "8791", "link"]):
        args = parser.parse_args(argv)
        assert (args.dashboard_command, args.port) == ("link", 8791), argv
        link = await login_link(dashboard.settings, args.host, args.port)
        assert link.startswith("http://127.0.0.1:8791/login/"), link
    args = parser.parse_args(["dashboard", "link", "--host", "::1"])
    assert (await login_link(dashboard.settings, args.host, args.port)).startswith("http://[::1]:8710/login/")
    settings = dashboard.settings.model_copy(update={"dashboard_port": 8795})
    plain = parser.parse_args(["dashboard", "link"])
    assert (await login_link(settings, plain.host, plain.port)).startswith("http://127.0.0.1:8795/login/")
