"""The dashboard over HTTP (aiohttp's test client) on a record filled by real graph runs: sign-in
required, one-time links, Discord OAuth2 against a strict fake, CSRF, what each session may see, and no
key or token in any page."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import insert

from agent.ids import stable_id
from agent.memory import tables
from agent.memory.embeddings import LocalE5Embedder
from agent.memory.logins import LoginLinks
from agent.memory.progress import Progress
from agent.services import Services
from dashboard.app import create_app
from dashboard.context import Dashboard
from dashboard.oauth import OAuthError
from dashboard.serve import login_link
from tests.conftest import make_event, make_services, models_toml
from tests.dashboard.helpers import SECRET, dashboard_on, dashboard_settings, door_run
from tests.dashboard.signing import csrf_of, sign_in_with_discord, sign_in_with_link
from tests.fakes.discord_oauth import FakeDiscordOAuth, FakeUser
from tests.fakes.openai_server import FakeOpenAI, Reply

GUILD = stable_id("guild", "test")
CHANNEL = stable_id("channel", "general")
ADMIN = FakeUser("111", "alice", [{"id": str(GUILD), "name": "test", "owner": False, "permissions": "32"}])
MEMBER = FakeUser("222", "bob", [{"id": str(GUILD), "name": "test", "owner": False, "permissions": "1024"}])
API_KEY = "sk-test-THISKEYMUSTNEVERSHOW1234567890"


@pytest.fixture
async def filled(
    tmp_path: Path, embedder: LocalE5Embedder, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Services]:
    """A record with one answered question (its decision, model, usage) and one skipped chat line."""
    monkeypatch.setenv("DASH_TEST_KEY", API_KEY)
    toml = models_toml(fake_openai.base_url) + 'api_key_env = "DASH_TEST_KEY"\n'
    services = await make_services(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'observer.db'}", embedder, toml)
    fake_openai.push(Reply("Miso is a good name for a cat."))
    await door_run(services, make_event("@Observer what should I name my cat?", mentions_bot=True))
    await door_run(services, make_event("lol nice", author="bob"))
    yield services
    await services.close()


@pytest.fixture
async def client(dashboard: Dashboard) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(create_app(dashboard))) as test_client:
        yield test_client


async def fresh_client(dashboard: Dashboard) -> TestClient:
    test_client = TestClient(TestServer(create_app(dashboard)))
    await test_client.start_server()
    return test_client


async def test_nothing_is_visible_without_signing_in(client: TestClient):
    for path in ("/", "/live", "/health", "/channels"):
        response = await client.get(path, allow_redirects=False)
        assert response.status == 302 and response.headers["Location"] in ("/signin", "/live"), path
    assert (await client.get("/live/events")).status == 401
    page = await client.get("/live")  # followed to the sign-in page
    assert page.url.path == "/signin" and "what should I name" not in await page.text()
    refused = await client.post(f"/channels/{CHANNEL}/mode", data={"mode": "off"}, allow_redirects=False)
    assert refused.status in (302, 403)


async def test_a_login_link_works_once(client: TestClient, dashboard: Dashboard):
    link = await login_link(dashboard.settings)
    assert link.startswith("http://127.0.0.1:8710/login/")
    signed = await sign_in_with_link(client, link)
    assert signed.status == 302 and signed.headers["Location"] == "/live"
    cookie = signed.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    live = await client.get("/live")
    html = await live.text()
    assert live.status == 200 and "what should I name my cat?" in html and "every server" in html

    other = await fresh_client(dashboard)  # a second browser (or a second click) with the same link
    try:
        again = await sign_in_with_link(other, link)
        assert again.status == 403 and "already used" in await again.text()
        assert (await other.get("/live", allow_redirects=False)).status == 302
    finally:
        await other.close()


async def test_an_expired_link_is_refused(client: TestClient, dashboard: Dashboard):
    token = await LoginLinks(dashboard.engine).issue(600, now=time.time() - 601)
    refused = await sign_in_with_link(client, f"http://x/login/{token}")
    assert refused.status == 403
    unknown = await sign_in_with_link(client, "http://x/login/not-a-token-we-issued")
    assert unknown.status == 403


async def test_csrf_missing_or_wrong_is_refused(client: TestClient, dashboard: Dashboard):
    await sign_in_with_link(client, await login_link(dashboard.settings))
    url = f"/channels/{CHANNEL}/mode"
    assert (await client.post(url, data={"mode": "off"})).status == 403
    assert (await client.post(url, data={"mode": "off", "csrf": "forged"})).status == 403
    assert (await client.post("/logout", data={})).status == 403
    assert await dashboard.record.channel_mode(CHANNEL) == "mentions"
    token = csrf_of(await (await client.get("/channels")).text())
    done = await client.post(url, data={"mode": "auto", "csrf": token}, allow_redirects=False)
    assert done.status == 302
    assert await dashboard.record.channel_mode(CHANNEL) == "auto"


async def test_csrf_of_the_link_page_must_match_its_cookie(client: TestClient, dashboard: Dashboard):
    """A login form posted from elsewhere (no anonymous session of ours) is refused, link and all."""
    token = (await login_link(dashboard.settings)).rsplit("/", 1)[1]
    refused = await client.post("/login", data={"token": token, "csrf": "x"}, allow_redirects=False)
    assert refused.status == 403
    assert await sign_in_with_link(client, f"http://x/login/{token}")  # not used up by the refusal


async def test_discord_admin_sees_the_server_and_a_plain_member_sees_none(
    dashboard: Dashboard, oauth: FakeDiscordOAuth
):
    admin, member = await fresh_client(dashboard), await fresh_client(dashboard)
    try:
        oauth.user = ADMIN
        signed = await sign_in_with_discord(admin, oauth)
        assert signed.status == 302 and signed.headers["Location"] == "/live"
        html = await (await admin.get("/live")).text()
        assert "what should I name my cat?" in html and "alice" in html
        assert "#general" in await (await admin.get("/channels")).text()

        oauth.user = MEMBER
        assert (await sign_in_with_discord(member, oauth)).status == 302
        live = await (await member.get("/live")).text()
        assert "what should I name my cat?" not in live and "(0 server(s))" in live
        channels = await (await member.get("/channels")).text()
        assert "#general" not in channels and "No channel you may run" in channels
        token = csrf_of(channels)
        refused = await member.post(f"/channels/{CHANNEL}/mode", data={"mode": "off", "csrf": token})
        assert refused.status == 403
        assert await dashboard.record.channel_mode(CHANNEL) == "mentions"
        assert (await member.get("/live/events")).status == 200
        # Hosts, processes, shards, cooldowns and versions are the deployment's: not a member's to read.
        assert (await member.get("/health")).status == 403
        assert (await admin.get("/health")).status == 403
    finally:
        await admin.close()
        await member.close()


async def test_an_admin_role_the_record_knows_counts(dashboard: Dashboard, oauth: FakeDiscordOAuth):
    async with dashboard.engine.begin() as conn:
        await conn.execute(
            insert(tables.guild_settings).values(
                guild_id=GUILD, settings={"access": {"admin_roles": [777]}}, updated_at=dashboard_now()
            )
        )
    oauth.user = FakeUser("333", "carol", MEMBER.guilds, roles={str(GUILD): ["777"]})
    client = await fresh_client(dashboard)
    try:
        start = await client.get("/auth/discord", allow_redirects=False)
        assert "guilds.members.read" in start.headers["Location"]
        await client.close()
        client = await fresh_client(dashboard)
        assert (await sign_in_with_discord(client, oauth)).status == 302
        assert "what should I name my cat?" in await (await client.get("/live")).text()
    finally:
        await client.close()


def dashboard_now():
    from datetime import UTC, datetime

    return datetime.now(UTC)


async def test_the_fake_oauth_server_is_strict(dashboard: Dashboard, oauth: FakeDiscordOAuth):
    assert dashboard.oauth is not None
    good = oauth.code_for(ADMIN, dashboard.oauth.redirect_uri)
    wrong_redirect = oauth.code_for(ADMIN, "http://elsewhere/callback")
    async with aiohttp.ClientSession() as http:
        form = {
            "grant_type": "authorization_code",
            "code": wrong_redirect,
            "redirect_uri": dashboard.oauth.redirect_uri,
            "client_id": oauth.client_id,
            "client_secret": oauth.client_secret,
        }
        refused = await http.post(f"{oauth.api_base}/oauth2/token", data=form)
        assert refused.status == 400 and (await refused.json())["error"] == "invalid_grant"
        wrong_code = await http.post(f"{oauth.api_base}/oauth2/token", data={**form, "code": "nope"})
        assert wrong_code.status == 400 and (await wrong_code.json())["error"] == "invalid_grant"
        bad_client = await http.post(f"{oauth.api_base}/oauth2/token", data={**form, "client_secret": "x"})
        assert bad_client.status == 401
    member = await dashboard.oauth.member(good)
    assert member.name == "alice" and member.guilds[0].manages
    with pytest.raises(OAuthError):
        await dashboard.oauth.member(good)  # a code is good once


async def test_a_callback_that_did_not_start_here_is_refused(client: TestClient, oauth: FakeDiscordOAuth):
    code = oauth.code_for(ADMIN, oauth.redirect_uris[0])
    refused = await client.get(f"/auth/discord/callback?code={code}&state=forged", allow_redirects=False)
    assert refused.status == 403
    assert (await client.get("/live", allow_redirects=False)).status == 302


async def test_the_live_feed_streams_a_state_change(client: TestClient, dashboard: Dashboard, filled: Services):
    await sign_in_with_link(client, await login_link(dashboard.settings))
    event = make_event("@Observer is it raining?", author="dora", mentions_bot=True)
    events = await client.get("/live/events")
    assert events.status == 200 and events.headers["Content-Type"].startswith("text/event-stream")
    await filled.record.store_event(event, state="waiting")
    seen: list[str] = []
    async with asyncio.timeout(120):  # a guard against a hang, not a measure
        while "waiting" not in seen:
            seen += states_of(await events.content.readuntil(b"\n\n"), event.message_id)
        await Progress(filled.record.engine).mark(event.message_id, "failed", sources=("waiting",))
        while "failed" not in seen:
            seen += states_of(await events.content.readuntil(b"\n\n"), event.message_id)
    events.close()


def states_of(chunk: bytes, message_id: int) -> list[str]:
    text = chunk.decode()
    if not text.startswith("event: item"):
        return []
    item = json.loads(text.split("data: ", 1)[1])
    return [item["state"]] if item["id"] == str(message_id) else []


async def test_the_answered_message_shows_its_decision_model_tokens_and_first_token(
    client: TestClient, dashboard: Dashboard
):
    await sign_in_with_link(client, await login_link(dashboard.settings))
    items = await dashboard.feed.recent(10)
    answered = next(i for i in items if "name my cat" in i.text)
    assert answered.state == "answered" and answered.model == "chat"
    assert answered.decision["respond"] is True and answered.decision["model_reason"]
    assert answered.tokens_out > 0 and answered.cost_usd > 0 and answered.first_token_ms is not None
    skipped = next(i for i in items if i.text == "lol nice")
    assert skipped.state == "skipped"
    html = await (await client.get("/live?state=answered")).text()
    assert "name my cat" in html and "lol nice" not in html and "respond (" in html


async def test_no_key_or_token_in_any_page(client: TestClient, dashboard: Dashboard, filled: Services):
    leak = f"upstream said: Authorization: Bearer {API_KEY} and key={API_KEY}"
    async with dashboard.engine.begin() as conn:
        await conn.execute(
            insert(tables.usage).values(
                created_at=dashboard_now(),
                message_id=None,
                guild_id=GUILD,
                channel_id=CHANNEL,
                user_id=1,
                purpose="reply",
                model="chat",
                tokens_in=0,
                tokens_out=0,
                cost_usd=0,
                latency_ms=0,
                ok=False,
                error=leak,
            )
        )
        await conn.execute(
            insert(tables.model_cooldowns).values(
                model="chat", until=dashboard_now().replace(year=2100), failures=1, reason=leak
            )
        )
    await sign_in_with_link(client, await login_link(dashboard.settings))
    pages = [await (await client.get(p)).text() for p in ("/live", "/health", "/channels", "/signin")]
    events = await client.get("/live/events")
    pages.append((await events.content.readuntil(b"\n\n")).decode())
    events.close()
    assert "[redacted]" in pages[1] and "upstream said" in pages[1]
    session_key = dashboard.codec.key.decode()
    for page in pages:
        for secret in (API_KEY, SECRET, session_key, dashboard.settings.dashboard_client_secret.get_secret_value()):
            assert secret not in page


async def test_secure_cookies_behind_https(filled: Services):
    board = await dashboard_on(filled, dashboard_public_url="https://observer.example")
    try:
        async with TestClient(TestServer(create_app(board))) as client:
            response = await client.get("/signin")
            assert "Secure" in response.headers["Set-Cookie"]
            assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
            link = await login_link(board.settings)
            assert link.startswith("https://observer.example/login/")
    finally:
        await board.record.close()


async def test_generated_session_key_is_private(filled: Services, tmp_path: Path):
    from dashboard.secret import session_key

    settings = dashboard_settings(filled).model_copy(update={"dashboard_secret": None, "data_dir": tmp_path / "d"})
    key = session_key(settings)
    assert session_key(settings) == key and len(key) >= 32
    assert ((tmp_path / "d" / "dashboard_secret").stat().st_mode & 0o777) == 0o600


async def test_signing_out_ends_the_session_wherever_its_cookie_was_copied(client: TestClient, dashboard: Dashboard):
    signed = await sign_in_with_link(client, await login_link(dashboard.settings))
    copied = signed.cookies["observer_session"].value
    token = csrf_of(await (await client.get("/live")).text())
    assert (await client.post("/logout", data={"csrf": token}, allow_redirects=False)).status == 302
    thief = await fresh_client(dashboard)
    try:
        thief.session.cookie_jar.update_cookies({"observer_session": copied})
        again = await thief.get("/live", allow_redirects=False)
        assert again.status == 302 and again.headers["Location"] == "/signin"
    finally:
        await thief.close()


async def test_deleted_messages_and_direct_messages_and_impossible_ids(client: TestClient, dashboard: Dashboard):
    await sign_in_with_link(client, await login_link(dashboard.settings))
    [asked] = [line for line in await dashboard.record.window(CHANNEL, 10) if "name my cat" in line.text]
    await dashboard.record.mark_deleted(asked.message_id)
    await dashboard.record.flush()
    html = await (await client.get("/live")).text()
    assert "what should I name my cat?" not in html and "(deleted)" in html
    token = csrf_of(html)
    too_big = await client.post("/channels/999999999999999999999999/mode", data={"mode": "off", "csrf": token})
    assert too_big.status == 404
    assert (await client.get("/live?channel=999999999999999999999999")).status == 400  # says which parameter
    dm = make_event("hi", channel="@carol", is_dm=True, guild_id=None)
    await dashboard.record.store_event(dm)
    refused = await client.post(f"/channels/{dm.channel_id}/mode", data={"mode": "off", "csrf": token})
    assert refused.status == 403, "no slash command sets a direct message's mode either"


def test_a_public_url_must_be_a_web_address_and_a_port_a_port():
    import argparse

    from pydantic import ValidationError

    from agent.settings import Settings
    from command_line.main import _port

    with pytest.raises(ValidationError, match="not a web address"):
        Settings(_env_file=None, dashboard_public_url="javascript:alert(1)")  # type: ignore[call-arg]
    assert Settings(_env_file=None, dashboard_public_url="https://bot.example.org/").dashboard_public_url == (  # type: ignore[call-arg]
        "https://bot.example.org"
    )
    with pytest.raises(argparse.ArgumentTypeError):
        _port("80000")  # once listened on 14464
