"""The dashboard's Knowledge page over HTTP, on the bot's real memory (Chroma, the local embedder): a
server's manager uploads a document and a character card (multipart, the CSRF token first), sees them
listed with the card's lore, and a search finds the document as `observer persona search` would; an
oversized or wrong kind of file is refused with the slash commands' words; a member without Manage
Server and a form without the token add nothing."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from html import unescape
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from agent.ids import stable_id
from agent.memory.embeddings import LocalE5Embedder
from agent.memory.persona_search import persona_search
from agent.memory.uploads import MAX_UPLOAD_BYTES
from agent.services import Services
from dashboard.context import Dashboard
from tests.conftest import make_event, make_services, models_toml
from tests.dashboard.helpers import door_run
from tests.dashboard.signing import csrf_of, discord_client
from tests.fakes.discord_oauth import FakeDiscordOAuth, FakeUser
from tests.fakes.openai_server import FakeOpenAI

GUILD = stable_id("guild", "test")
OTHER_GUILD = stable_id("guild", "elsewhere")
ADMIN = FakeUser("111", "alice", [{"id": str(GUILD), "name": "test", "owner": False, "permissions": "32"}])
MEMBER = FakeUser("222", "bob", [{"id": str(GUILD), "name": "test", "owner": False, "permissions": "1024"}])
NOTES = (
    "# The lighthouse\n\nBartholomew keeps the old lighthouse on Gull Point. Every Tuesday he feeds the gulls "
    "sardines from a tin bucket, and on foggy nights he rings the brass bell twice an hour.\n"
)
CARD = {
    "spec": "chara_card_v2",
    "spec_version": "2.0",
    "data": {
        "name": "Captain Mira",
        "description": "A retired sea captain who tells tall tales about the northern reefs.",
        "personality": "gruff, warm",
        "character_book": {
            "entries": [{"keys": ["kraken"], "content": "The kraken sleeps under the reef of Skerra.", "enabled": True}]
        },
    },
}


@pytest.fixture
async def filled(tmp_path: Path, embedder: LocalE5Embedder, fake_openai: FakeOpenAI) -> AsyncIterator[Services]:
    services = await make_services(
        tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'observer.db'}", embedder, models_toml(fake_openai.base_url)
    )
    await door_run(services, make_event("hello all", author="bob"))
    await door_run(services, make_event("hi", author="zed", channel="lobby", guild_id=OTHER_GUILD))
    yield services
    await services.close()


@pytest.fixture
async def admin(dashboard: Dashboard, oauth: FakeDiscordOAuth) -> AsyncIterator[TestClient]:
    client = await discord_client(dashboard, oauth, ADMIN)
    yield client
    await client.close()


def upload_form(fields: dict[str, str], name: str, data: bytes) -> aiohttp.FormData:
    """The page's form as a browser sends it: its fields in order (the token first), then the file, its
    name as it was on the sender's disk (not percent-encoded)."""
    form = aiohttp.FormData(quote_fields=False)
    for key, value in fields.items():
        form.add_field(key, value)
    form.add_field("file", data, filename=name, content_type="application/octet-stream")
    return form


async def upload(client: TestClient, kind: str, name: str, data: bytes, **more: str) -> tuple[int, str]:
    token = csrf_of(await (await client.get(f"/knowledge?guild={GUILD}")).text())
    fields = {"csrf": token, "guild": str(GUILD), "kind": kind, **more}
    answer = await client.post("/knowledge/upload", data=upload_form(fields, name, data))
    return answer.status, await answer.text()


def table(html: str, table_id: str) -> str:
    return unescape(re.sub(r"<[^>]+>", " ", html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]))


def notice(html: str) -> str:
    found = re.search(r'id="notice">(.*?)</p>', html, re.S)
    assert found, "the page says what became of the upload"
    return unescape(found.group(1))


async def test_a_document_uploaded_is_listed_and_a_search_finds_it(admin: TestClient, filled: Services):
    status, html = await upload(admin, "document", "lighthouse notes.md", NOTES.encode())
    assert status == 200, notice(html)
    assert notice(html).startswith("Added lighthouse_notes.md: 1 files")
    page = await (await admin.get(f"/knowledge?guild={GUILD}")).text()
    assert "lighthouse_notes.md" in table(page, "documents") and "this server" in table(page, "documents")

    found = await admin.get(f"/knowledge?guild={GUILD}&q=who feeds the gulls on Tuesdays?")
    hits = table(await found.text(), "hits")
    assert found.status == 200 and "Bartholomew" in hits and "knowledge" in hits and "✔" in hits
    # What the page found is what `observer persona search` finds, in the bot's memory.
    cli = persona_search(filled.memory, filled.settings, "who feeds the gulls on Tuesdays?", guild=GUILD)
    assert any("Bartholomew" in c.text and c.chosen for c in cli.candidates)
    # Not another server's: the document is this server's own.
    other = persona_search(filled.memory, filled.settings, "who feeds the gulls on Tuesdays?", guild=OTHER_GUILD)
    assert not any("Bartholomew" in c.text for c in other.candidates)

    # The same file again replaces itself.
    status, html = await upload(admin, "document", "lighthouse notes.md", NOTES.encode())
    assert status == 200 and "(0 new, " in notice(html) and "0 removed)" in notice(html)


async def test_a_character_card_is_listed_with_its_lore(admin: TestClient):
    status, html = await upload(admin, "persona", "../../cards/mira.json", json.dumps(CARD).encode(), where="server")
    assert status == 200, notice(html)
    assert notice(html).startswith("Added mira.json:") and "personas Captain Mira" in notice(html)
    page = await (await admin.get(f"/knowledge?guild={GUILD}")).text()
    assert "Captain Mira" in table(page, "personas") and "retired sea captain" in table(page, "personas")
    assert "kraken" in table(page, "lore") and "reef of Skerra" in table(page, "lore")
    hits = table(
        await (await admin.get(f"/knowledge?guild={GUILD}&q=tell me of the kraken&persona=Captain Mira")).text(), "hits"
    )
    assert "keyword" in hits and "reef of Skerra" in hits


async def test_an_oversized_or_wrong_file_is_refused_as_the_slash_commands_refuse_it(admin: TestClient):
    status, html = await upload(admin, "document", "huge.md", b"x" * (MAX_UPLOAD_BYTES + 1))
    assert status == 413
    assert re.fullmatch(r"huge\.md is 8,\d{3},\d{3} bytes, over the 8 MB limit\.", notice(html))
    status, html = await upload(admin, "document", "tool.exe", b"MZ")
    assert status == 400 and notice(html) == "tool.exe: use one of .markdown, .md, .pdf, .txt."
    status, html = await upload(admin, "persona", "broken.json", b'{"spec": "chara_card_v2", "data": {')
    assert status == 400 and notice(html).startswith("Nothing was added.") and "broken.json" in notice(html)
    page = await (await admin.get(f"/knowledge?guild={GUILD}")).text()
    assert "No document yet" in table(page, "documents") and "huge.md" not in page


async def test_only_a_servers_managers_upload_and_every_upload_carries_the_token(
    dashboard: Dashboard, oauth: FakeDiscordOAuth, admin: TestClient
):
    token = csrf_of(await (await admin.get(f"/knowledge?guild={GUILD}")).text())
    tries: list[dict[str, Any]] = [
        {"guild": str(GUILD), "kind": "document"},  # no token
        {"csrf": "forged", "guild": str(GUILD), "kind": "document"},
        {"guild": str(GUILD), "csrf": token, "kind": "document"},  # the token, but not first
    ]
    for fields in tries:
        refused = await admin.post("/knowledge/upload", data=upload_form(fields, "notes.md", NOTES.encode()))
        assert refused.status == 403, fields
    # alice manages GUILD, not the other server.
    assert (await admin.get(f"/knowledge?guild={OTHER_GUILD}")).status == 403
    fields = {"csrf": token, "guild": str(OTHER_GUILD), "kind": "document"}
    assert (await admin.post("/knowledge/upload", data=upload_form(fields, "notes.md", NOTES.encode()))).status == 403

    member = await discord_client(dashboard, oauth, MEMBER)
    try:
        assert 'id="no-server"' in await (await member.get("/knowledge")).text()
        assert (await member.get(f"/knowledge?guild={GUILD}")).status == 403
        mine = csrf_of(await (await member.get("/knowledge")).text())
        for guild in (str(GUILD), ""):
            fields = {"csrf": mine, "guild": guild, "kind": "document"}
            answer = await member.post("/knowledge/upload", data=upload_form(fields, "notes.md", NOTES.encode()))
            assert answer.status == 403, guild
    finally:
        await member.close()
    page = await (await admin.get(f"/knowledge?guild={GUILD}")).text()
    assert "No document yet" in table(page, "documents")
