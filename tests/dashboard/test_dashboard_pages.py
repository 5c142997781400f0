"""The dashboard's Live filters, Usage page and a message's run, over HTTP, on a record filled by real
graph runs (SQLite, and PostgreSQL when OBSERVER_TEST_POSTGRES_URL is set): what each session may see,
and figures that match the record."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from agent.ids import stable_id
from agent.memory.embeddings import LocalE5Embedder
from agent.services import Services
from dashboard.app import create_app
from dashboard.context import Dashboard
from dashboard.serve import login_link
from tests.conftest import make_event, make_services, models_toml
from tests.dashboard.helpers import door_run
from tests.dashboard.signing import discord_client, sign_in_with_link
from tests.fakes.discord_oauth import FakeDiscordOAuth, FakeUser
from tests.fakes.openai_server import FakeOpenAI, Reply

GUILD = stable_id("guild", "test")
ADMIN = FakeUser("111", "alice", [{"id": str(GUILD), "name": "test", "owner": False, "permissions": "32"}])
MEMBER = FakeUser("222", "bob", [{"id": str(GUILD), "name": "test", "owner": False, "permissions": "1024"}])
BOB = stable_id("user", "bob")
ALICE = stable_id("user", "alice")


@pytest.fixture
async def filled(
    tmp_path: Path, database_url: str, embedder: LocalE5Embedder, fake_openai: FakeOpenAI
) -> AsyncIterator[Services]:
    """alice's answered question (a decision, a model, usage) and bob's skipped chat line, through the
    real graph; quotas in the file."""
    toml = models_toml(fake_openai.base_url) + "\n[quotas]\nreplies_per_hour = 5\ntokens_per_day = 100000\n"
    services = await make_services(tmp_path, database_url, embedder, toml)
    fake_openai.push(Reply("Miso is a good name for a cat."))
    await door_run(services, make_event("@Observer what should I name my cat?", mentions_bot=True))
    await door_run(services, make_event("lol nice", author="bob"))
    yield services
    await services.close()


@pytest.fixture
async def operator(dashboard: Dashboard) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(create_app(dashboard))) as client:
        await sign_in_with_link(client, await login_link(dashboard.settings))
        yield client


def rows_of(html: str) -> str:
    """The Live table's body (the filter form echoes what was typed)."""
    return html.split("<tbody>", 1)[1]


async def test_live_filters_by_member_by_id_or_name(operator: TestClient):
    by_id = rows_of(await (await operator.get(f"/live?member={BOB}")).text())
    assert "lol nice" in by_id and "name my cat" not in by_id
    by_name = rows_of(await (await operator.get("/live?member=Bob")).text())
    assert "lol nice" in by_name and "name my cat" not in by_name
    nobody = rows_of(await (await operator.get("/live?member=nobody-of-that-name")).text())
    assert "lol nice" not in nobody and "name my cat" not in nobody
    both = rows_of(await (await operator.get(f"/live?member={ALICE}&state=answered")).text())
    assert "name my cat" in both and "lol nice" not in both
    # A row's author is a link to their messages.
    assert f'href="/live?member={BOB}"' in rows_of(await (await operator.get("/live")).text())


async def test_live_events_keep_to_the_member_filter(operator: TestClient, filled: Services):
    events = await operator.get(f"/live/events?member={BOB}")
    await filled.record.store_event(make_event("@Observer from alice", mentions_bot=True), state="waiting")
    await filled.record.store_event(make_event("@Observer from bob", author="bob", mentions_bot=True), state="waiting")
    seen: list[str] = []
    async with asyncio.timeout(120):  # a guard against a hang, not a measure
        while "@Observer from bob" not in seen:
            chunk = (await events.content.readuntil(b"\n\n")).decode()
            if chunk.startswith("event: item"):
                seen.append(json.loads(chunk.split("data: ", 1)[1])["text"])
    events.close()
    assert "@Observer from alice" not in seen and "lol nice" in seen


async def test_a_member_without_manage_server_finds_no_one_by_filtering(dashboard: Dashboard, oauth: FakeDiscordOAuth):
    member = await discord_client(dashboard, oauth, MEMBER)
    try:
        for query in (f"member={ALICE}", "member=alice", f"member={BOB}&state=skipped"):
            html = rows_of(await (await member.get(f"/live?{query}")).text())
            assert "name my cat" not in html and "lol nice" not in html, query
    finally:
        await member.close()


def numbers(html: str, table: str) -> dict[str, list[str]]:
    """A breakdown table's rows: label -> its cells' text."""
    body = html.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    found = {}
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)[1:]:
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        if cells:
            found[cells[0]] = cells[1:]
    return found


OTHER_GUILD = 4242


async def other_servers_usage(dashboard: Dashboard) -> None:
    """A server alice does not manage: zed's calls there, a channel and member no one else may see."""
    from datetime import UTC, datetime

    from sqlalchemy import insert

    from agent.memory import tables

    async with dashboard.engine.begin() as conn:
        await conn.execute(insert(tables.guilds).values(id=OTHER_GUILD, name="elsewhere"))
        await conn.execute(
            insert(tables.channels).values(id=4343, guild_id=OTHER_GUILD, name="secret-plans", mode="mentions")
        )
        await conn.execute(insert(tables.users).values(id=4444, name="zed", is_bot=False))
        await conn.execute(
            insert(tables.usage),
            [
                {
                    "created_at": datetime.now(UTC),
                    "message_id": 1000 + i,
                    "guild_id": OTHER_GUILD,
                    "channel_id": 4343,
                    "user_id": 4444,
                    "purpose": "reply",
                    "model": "big-secret-model",
                    "tokens_in": 1000,
                    "tokens_out": 234,
                    "cost_usd": 0.5,
                    "latency_ms": 10.0,
                    "ok": True,
                }
                for i in range(3)
            ],
        )


async def recorded_sums(dashboard: Dashboard, **where: int) -> tuple[int, int, int, float]:
    """calls, tokens in, tokens out, cost in the record's usage rows matching `where`."""
    from sqlalchemy import and_, func, select

    from agent.memory import tables

    u = tables.usage.c
    query = select(func.count(), func.sum(u.tokens_in), func.sum(u.tokens_out), func.sum(u.cost_usd)).where(
        and_(*(getattr(u, k) == v for k, v in where.items()))
    )
    async with dashboard.engine.connect() as conn:
        calls, tin, tout, cost = (await conn.execute(query)).one()
    return int(calls), int(tin or 0), int(tout or 0), float(cost or 0.0)


async def test_usage_numbers_are_the_records(operator: TestClient, dashboard: Dashboard):
    await other_servers_usage(dashboard)
    html = await (await operator.get("/usage")).text()
    calls, tin, tout, cost = await recorded_sums(dashboard, user_id=ALICE)
    assert calls >= 1 and tout > 0 and cost > 0, "the reply ran through the fake model"
    members = numbers(html, "by-member")
    assert members["alice (test)"][:4] == [f"{calls:,}", f"{tin:,}", f"{tout:,}", f"${cost:.4f}"]
    assert members["zed (elsewhere)"][:4] == ["3", "3,000", "702", "$1.5000"]
    models = numbers(html, "by-model")
    chat = await recorded_sums(dashboard, guild_id=GUILD)
    assert models["chat"][3] == f"${chat[3]:.4f}" and models["big-secret-model"][0] == "3"
    assert "elsewhere / #secret-plans" in numbers(html, "by-channel")
    total = await recorded_sums(dashboard)
    assert f"${total[3]:.4f}" in html.split('id="total"', 1)[1].split("</p>", 1)[0]
    # Charts drawn here, as inline SVG: one bar per day, no script, nothing from elsewhere.
    assert html.count("<svg") >= 2 and "<script" not in html and "http" not in html.split("<main>", 1)[1]


async def test_usage_shows_only_the_servers_a_session_may_read(dashboard: Dashboard, oauth: FakeDiscordOAuth):
    await other_servers_usage(dashboard)
    admin = await discord_client(dashboard, oauth, ADMIN)
    member = await discord_client(dashboard, oauth, MEMBER)
    try:
        html = await (await admin.get("/usage")).text()
        assert "alice (test)" in numbers(html, "by-member")
        for secret in ("zed", "secret-plans", "elsewhere", "big-secret-model"):
            assert secret not in html
        picked = await (await admin.get(f"/usage?guild={OTHER_GUILD}")).text()  # asked by id: still nothing
        assert "zed" not in picked and "big-secret-model" not in picked
        plain = await (await member.get("/usage")).text()
        for name in ("alice", "zed", "chat", "#general", "secret-plans"):
            assert name not in plain.split("<main>", 1)[1], name
        assert "Nothing in this window." in plain
    finally:
        await admin.close()
        await member.close()


async def test_quota_use_per_member_is_counted_as_the_gate_counts(operator: TestClient, filled: Services):
    html = await (await operator.get("/usage")).text()
    quotas = html.split("Quotas, per member", 1)[1]
    assert "5 replies an hour, 100,000 tokens a day" in quotas
    row = re.search(rf'<tr data-member="{ALICE}">(.*?)</tr>', quotas, re.S)
    assert row is not None
    spend = filled.gate.ledger.spend((GUILD, ALICE), __import__("time").time())
    assert "1 of 5" in row.group(1) and f"{sum(s[1] for s in spend):,} of 100,000" in row.group(1)


async def asked_message_id(dashboard: Dashboard) -> int:
    items = await dashboard.feed.recent(10)
    return next(i.message_id for i in items if "name my cat" in i.text)


async def test_a_live_row_opens_its_run(operator: TestClient, dashboard: Dashboard):
    asked = await asked_message_id(dashboard)
    live = await (await operator.get("/live")).text()
    assert f'href="/runs/{asked}"' in live
    html = await (await operator.get(f"/runs/{asked}")).text()
    decision = re.search(r'id="decision">(.*?)</dd>', html, re.S)
    assert decision and decision.group(1).startswith("respond (")
    model = re.search(r'id="model">(.*?)</dd>', html, re.S)
    assert model and model.group(1).startswith("chat") and "(" in model.group(1)  # and why it was picked
    calls, tin, tout, cost = await recorded_sums(dashboard, message_id=asked)
    assert f"{tin:,} in / {tout:,} out" in html and f"${cost:.4f}" in html
    assert "Miso is a good name for a cat." in html
    # The graph's steps as the stream showed them, with what each node reported taking.
    steps = html.split('id="steps"', 1)[1].split("</table>", 1)[0]
    for node in ("ingest_ms", "judge_ms", "retrieve_ms", "generate_ms"):
        assert node in steps, node
    assert re.search(r'id="total">\d+ ms', html)


async def test_a_run_shows_its_tool_calls_and_masks_a_private_exchange(operator: TestClient, dashboard: Dashboard):
    from datetime import UTC, datetime

    from sqlalchemy import insert, update

    from agent.memory import tables

    asked = await asked_message_id(dashboard)
    async with dashboard.engine.begin() as conn:
        await conn.execute(
            insert(tables.tool_calls).values(
                created_at=datetime.now(UTC),
                message_id=asked,
                guild_id=GUILD,
                channel_id=stable_id("channel", "general"),
                user_id=ALICE,
                tool="web_search",
                source="built-in",
                arguments={"query": "cat names in Japanese"},
                outcome="ok",
                result="Miso, Mochi, Sushi",
                ms=420.0,
            )
        )
    html = await (await operator.get(f"/runs/{asked}")).text()
    tools = html.split('id="tools"', 1)[1].split("</table>", 1)[0]
    assert "web_search" in tools and "cat names in Japanese" in tools and "Mochi" in tools and "420 ms" in tools
    async with dashboard.engine.begin() as conn:
        await conn.execute(update(tables.messages).where(tables.messages.c.id == asked).values(private=True))
    private = await (await operator.get(f"/runs/{asked}")).text()
    for words in ("name my cat", "cat names in Japanese", "Mochi", "Miso is a good name"):
        assert words not in private, words
    assert "web_search" in private and "(private)" in private  # that a tool ran is the operator's to see


async def test_a_run_is_not_found_for_a_member_without_manage_server(dashboard: Dashboard, oauth: FakeDiscordOAuth):
    asked = await asked_message_id(dashboard)
    member = await discord_client(dashboard, oauth, MEMBER)
    admin = await discord_client(dashboard, oauth, ADMIN)
    try:
        refused = await member.get(f"/runs/{asked}")
        unknown = await member.get("/runs/12345")
        html = await refused.text()
        assert refused.status == unknown.status == 404 and "name my cat" not in html and "chat" not in html
        assert html.split("<main>", 1)[1] == (await unknown.text()).split("<main>", 1)[1]
        assert (await member.get("/runs/999999999999999999999999")).status == 404
        assert "name my cat" in await (await admin.get(f"/runs/{asked}")).text()
    finally:
        await member.close()
        await admin.close()
