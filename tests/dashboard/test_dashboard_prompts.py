"""The dashboard's Prompts page over HTTP: a server's manager previews a change as a diff, saves it, and
the bot's own prompt library (the running bot's, not restarted) renders the new text on its next use;
reset brings the default back; a bad placeholder is refused naming its line and nothing is written; the
prompt files themselves stay read-only; a member without Manage Server, another server's manager and a
form without the CSRF token change nothing."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from html import unescape
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from agent.ids import stable_id
from agent.memory.embeddings import LocalE5Embedder
from agent.prompts import OVERRIDE_RESCAN_SECONDS, PROMPT_VARIABLES
from agent.services import Services
from dashboard.app import create_app
from dashboard.context import Dashboard
from dashboard.serve import login_link
from tests.conftest import make_event, make_services, models_toml
from tests.dashboard.helpers import door_run
from tests.dashboard.signing import csrf_of, discord_client, sign_in_with_link
from tests.fakes.discord_oauth import FakeDiscordOAuth, FakeUser
from tests.fakes.openai_server import FakeOpenAI

GUILD = stable_id("guild", "test")
OTHER_GUILD = stable_id("guild", "elsewhere")
ADMIN = FakeUser("111", "alice", [{"id": str(GUILD), "name": "test", "owner": False, "permissions": "32"}])
MEMBER = FakeUser("222", "bob", [{"id": str(GUILD), "name": "test", "owner": False, "permissions": "1024"}])
# Values for rendering the system prompt as the reply does.
SYSTEM_VALUES = {v: f"<{v}>" for v in PROMPT_VARIABLES["system"]}
RHYMES = "Always answer in rhyming couplets."


@pytest.fixture
async def filled(tmp_path: Path, embedder: LocalE5Embedder, fake_openai: FakeOpenAI) -> AsyncIterator[Services]:
    """The record knows two servers (a message in each), as the Discord door leaves it."""
    services = await make_services(
        tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'observer.db'}", embedder, models_toml(fake_openai.base_url)
    )
    await door_run(services, make_event("hello all", author="bob"))
    await door_run(
        services, make_event("hi", author="zed", channel="lobby", guild_id=OTHER_GUILD, guild_name="elsewhere")
    )
    yield services
    await services.close()


@pytest.fixture
async def admin(dashboard: Dashboard, oauth: FakeDiscordOAuth) -> AsyncIterator[TestClient]:
    client = await discord_client(dashboard, oauth, ADMIN)
    yield client
    await client.close()


def override_of(services: Services, guild: int, name: str = "system") -> Path:
    return services.settings.data_dir / "prompts" / str(guild) / f"{name}.md"


def default_text(services: Services, name: str = "system") -> str:
    return (services.settings.prompts_dir / f"{name}.md").read_text(encoding="utf-8")


def page_text(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", "", html))


def previewed_of(html: str) -> str:
    found = re.search(r'name="previewed" value="([^"]*)"', html)
    assert found
    return found.group(1)


async def preview(client: TestClient, text: str, guild: int = GUILD, name: str = "system") -> tuple[int, str]:
    token = csrf_of(await (await client.get(f"/prompts/{name}?guild={guild}")).text())
    answer = await client.post(f"/prompts/{name}/preview", data={"csrf": token, "guild": str(guild), "text": text})
    return answer.status, await answer.text()


async def test_preview_shows_the_diff_then_a_save_is_what_the_running_bot_renders(admin: TestClient, filled: Services):
    before = filled.prompts.render("system", GUILD, **SYSTEM_VALUES)  # the running bot, as it is
    assert RHYMES not in before
    edited = default_text(filled).replace("\n", f"\n{RHYMES}\n", 1)

    # A browser's textarea sends CRLF; the preview shows the change and saves nothing.
    status, html = await preview(admin, edited.replace("\n", "\r\n"))
    assert status == 200
    diff = page_text(html.split('id="diff"', 1)[1].split("</pre>", 1)[0])
    assert f"+{RHYMES}" in diff and "system.md (now)" in diff and diff.count("\n+") <= 2
    assert not override_of(filled, GUILD).exists()

    # A save of a text the preview did not show is shown again, not saved.
    token = csrf_of(html)
    form = {"csrf": token, "guild": str(GUILD), "text": edited + "more\n", "previewed": previewed_of(html)}
    again = await admin.post("/prompts/system/save", data=form, allow_redirects=False)
    assert again.status == 409 and "changed since the preview" in await again.text()
    assert not override_of(filled, GUILD).exists()

    form = {"csrf": token, "guild": str(GUILD), "text": edited.replace("\n", "\r\n"), "previewed": previewed_of(html)}
    saved = await admin.post("/prompts/system/save", data=form, allow_redirects=False)
    assert saved.status == 302
    page = await (await admin.get(saved.headers["Location"])).text()
    assert 'id="saved"' in page and "This server's own version" in page
    assert override_of(filled, GUILD).read_text(encoding="utf-8") == edited
    assert [p.name for p in override_of(filled, GUILD).parent.iterdir()] == ["system.md"]  # no temporary left

    # The bot's library (not restarted) picks up the new override once it looks for new ones again.
    await asyncio.sleep(OVERRIDE_RESCAN_SECONDS + 0.1)
    assert RHYMES in filled.prompts.render("system", GUILD, **SYSTEM_VALUES)
    assert RHYMES not in filled.prompts.render("system", OTHER_GUILD, **SYSTEM_VALUES)
    assert RHYMES not in filled.prompts.render("system", None, **SYSTEM_VALUES)
    assert default_text(filled) != edited  # the file every server shares is untouched

    # Reset: the override is gone and the very next render is the default again.
    token = csrf_of(page)
    reset = await admin.post("/prompts/system/reset", data={"csrf": token, "guild": str(GUILD)}, allow_redirects=False)
    assert reset.status == 302
    assert "this server uses the default again" in await (await admin.get(reset.headers["Location"])).text()
    assert not override_of(filled, GUILD).exists()
    assert filled.prompts.render("system", GUILD, **SYSTEM_VALUES) == before


async def test_a_bad_placeholder_is_refused_naming_its_line_and_nothing_changes(admin: TestClient, filled: Services):
    lines = default_text(filled).splitlines()
    good = "\n".join(lines) + "\nBe brief.\n"
    status, html = await preview(admin, good)
    form = {"csrf": csrf_of(html), "guild": str(GUILD), "text": good, "previewed": previewed_of(html)}
    assert status == 200 and (await admin.post("/prompts/system/save", data=form, allow_redirects=False)).status == 302
    assert override_of(filled, GUILD).read_text(encoding="utf-8") == good

    bad = "\n".join([*lines[:2], "Call them {nickname}.", *lines[2:]]) + "\n"
    for action in ("preview", "save"):
        form = {"csrf": csrf_of(html), "guild": str(GUILD), "text": bad, "previewed": previewed_of(html)}
        refused = await admin.post(f"/prompts/system/{action}", data=form)
        shown = page_text(await refused.text())
        assert refused.status == 400, action
        assert "Not saved. Line 3: unknown placeholder {nickname}" in shown, action
        assert 'id="save"' not in await refused.text()
        assert override_of(filled, GUILD).read_text(encoding="utf-8") == good  # unchanged

    missing = good.replace("{memory}", "")
    status, html = await preview(admin, missing)
    assert status == 400 and "never uses it" in page_text(html) and "{memory}" in page_text(html)


async def test_the_prompt_files_are_read_only_and_only_a_servers_managers_edit_its_prompts(
    dashboard: Dashboard, oauth: FakeDiscordOAuth, admin: TestClient, filled: Services
):
    files = {p.name: p.read_bytes() for p in filled.settings.prompts_dir.glob("*.md")}
    async with TestClient(TestServer(create_app(dashboard))) as operator:
        await sign_in_with_link(operator, await login_link(dashboard.settings))
        html = await (await operator.get("/prompts/system")).text()
        assert default_text(filled).split("\n", 1)[0] in unescape(html) and 'id="edit"' not in html
        token = csrf_of(html)
        form = {"csrf": token, "text": "Hacked {bot_name}", "guild": ""}
        for action in ("preview", "save", "reset"):
            assert (await operator.post(f"/prompts/system/{action}", data=form)).status == 403, action
        # The operator may edit any server's version.
        assert 'id="edit"' in await (await operator.get(f"/prompts/system?guild={OTHER_GUILD}")).text()

    # alice manages GUILD only: the other server's prompts are not hers to see or change.
    assert (await admin.get(f"/prompts/system?guild={OTHER_GUILD}")).status == 403
    assert (await admin.get("/prompts?guild=123456789")).status == 403
    token = csrf_of(await (await admin.get("/prompts")).text())
    text = default_text(filled) + "\nHers.\n"
    for action in ("preview", "save", "reset"):
        form = {"csrf": token, "guild": str(OTHER_GUILD), "text": text}
        assert (await admin.post(f"/prompts/system/{action}", data=form)).status == 403, action
    assert (await admin.post("/prompts/nonsense/save", data={"csrf": token, "guild": str(GUILD)})).status == 404

    # bob holds no Manage Server: he sees no server and changes nothing.
    member = await discord_client(dashboard, oauth, MEMBER)
    try:
        assert 'id="no-server"' in await (await member.get("/prompts")).text()
        assert (await member.get("/prompts/system")).status == 403
        assert (await member.get(f"/prompts/system?guild={GUILD}")).status == 403
        token = csrf_of(await (await member.get("/prompts")).text())
        form = {"csrf": token, "guild": str(GUILD), "text": text}
        for action in ("preview", "save", "reset"):
            assert (await member.post(f"/prompts/system/{action}", data=form)).status == 403, action
    finally:
        await member.close()
    assert not override_of(filled, GUILD).exists() and not override_of(filled, OTHER_GUILD).exists()
    assert {p.name: p.read_bytes() for p in filled.settings.prompts_dir.glob("*.md")} == files


async def test_a_prompt_form_without_the_csrf_token_changes_nothing(admin: TestClient, filled: Services):
    status, html = await preview(admin, default_text(filled) + "\nBe kind.\n")
    assert status == 200
    text = default_text(filled) + "\nBe kind.\n"
    for csrf in (None, "forged"):
        form = {"guild": str(GUILD), "text": text, "previewed": previewed_of(html)} | ({"csrf": csrf} if csrf else {})
        assert (await admin.post("/prompts/system/save", data=form)).status == 403
    assert not override_of(filled, GUILD).exists()
    override_of(filled, GUILD).parent.mkdir(parents=True)
    override_of(filled, GUILD).write_text(text, encoding="utf-8")
    assert (await admin.post("/prompts/system/reset", data={"guild": str(GUILD), "csrf": "forged"})).status == 403
    assert override_of(filled, GUILD).read_text(encoding="utf-8") == text
