"""Signing in to the dashboard as a browser does: a one-time link, or Discord's OAuth2 consent on the
fake server; and the CSRF token a page carries."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import aiohttp
from aiohttp.test_utils import TestClient, TestServer

from dashboard.app import create_app
from dashboard.context import Dashboard
from tests.fakes.discord_oauth import FakeDiscordOAuth, FakeUser


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" content="([^"]+)"', html)
    assert found
    return found.group(1)


async def sign_in_with_link(client: TestClient, link: str) -> aiohttp.ClientResponse:
    path = urlsplit(link).path
    page = await client.get(path)
    assert page.status == 200
    html = await page.text()
    token = path.rsplit("/", 1)[1]
    return await client.post("/login", data={"token": token, "csrf": csrf_of(html)}, allow_redirects=False)


async def sign_in_with_discord(client: TestClient, oauth: FakeDiscordOAuth) -> aiohttp.ClientResponse:
    start = await client.get("/auth/discord", allow_redirects=False)
    assert start.status == 302
    async with aiohttp.ClientSession() as browser:  # Discord's consent page, in the same "browser"
        consent = await browser.get(start.headers["Location"], allow_redirects=False)
        assert consent.status == 302, await consent.text()
        back = urlsplit(consent.headers["Location"])
    return await client.get(f"{back.path}?{back.query}", allow_redirects=False)


async def discord_client(dashboard: Dashboard, oauth: FakeDiscordOAuth, user: FakeUser) -> TestClient:
    """A browser signed in with Discord as `user`."""
    client = TestClient(TestServer(create_app(dashboard)))
    await client.start_server()
    oauth.user = user
    assert (await sign_in_with_discord(client, oauth)).status == 302
    return client
