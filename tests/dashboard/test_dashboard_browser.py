"""The dashboard in a real browser (Debian's chromium, headless, driven by Selenium through Debian's
chromedriver; nothing downloaded): sign in with a one-time link, watch the Live page show a new
message's states as a real graph run moves it, change a channel's mode in the page and see it in the
record and in the next run, give the server its own system prompt (the changes shown, then saved).
Screenshots go to OBSERVER_TEST_SCREENSHOTS, else pytest's tmp dir."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestServer

from agent.ids import stable_id
from agent.memory.embeddings import LocalE5Embedder
from agent.memory.record.writes import CACHE_SECONDS
from agent.prompts import OVERRIDE_RESCAN_SECONDS, PROMPT_VARIABLES
from agent.services import Services
from dashboard.app import create_app
from dashboard.serve import login_link
from tests.conftest import make_event, make_services, models_toml
from tests.dashboard.helpers import dashboard_on, door_run
from tests.fakes.openai_server import FakeOpenAI, Reply

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
CHANNEL = stable_id("channel", "general")
GUILD = stable_id("guild", "test")
# A guard against a hung browser, never a measure: a slow, busy machine passes well within it.
PATIENCE_S = 120

pytestmark = pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver, as root)",
)
T = TypeVar("T")


@pytest.fixture
def browser() -> Iterator[Any]:
    selenium = pytest.importorskip("selenium", reason="needs selenium (pip install -e .[dev])")
    del selenium
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must never fetch a driver
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,900"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("OBSERVER_TEST_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
async def filled(tmp_path: Path, embedder: LocalE5Embedder, fake_openai: FakeOpenAI) -> AsyncIterator[Services]:
    services = await make_services(
        tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'observer.db'}", embedder, models_toml(fake_openai.base_url)
    )
    fake_openai.push(Reply("Miso is a good name for a cat."))
    await door_run(services, make_event("@Observer what should I name my cat?", mentions_bot=True))
    yield services
    await services.close()


async def off_loop(call: Callable[..., T], *args: Any) -> T:
    """Selenium blocks: it runs in a thread while this loop serves the dashboard."""
    return await asyncio.to_thread(call, *args)


def wait_for(driver: Any, condition: Callable[[Any], Any]) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, PATIENCE_S, poll_frequency=0.05).until(condition)


def row_state(message_id: int) -> Callable[[Any], str | None]:
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException

    def read(driver: Any) -> str | None:
        try:
            return str(driver.find_element("css selector", f"#m{message_id} td.state").text)
        except (NoSuchElementException, StaleElementReferenceException):
            return None

    return read


async def test_sign_in_watch_a_run_and_change_a_mode(
    browser: Any, shots: Path, filled: Services, fake_openai: FakeOpenAI
):
    board = await dashboard_on(filled)
    server = TestServer(create_app(board))
    await server.start_server()
    try:
        base = str(server.make_url("")).rstrip("/")
        link = base + urlsplit(await login_link(board.settings)).path
        await off_loop(browser.get, base + "/live")
        assert "/signin" in browser.current_url, "nothing is visible without signing in"
        await off_loop(browser.get, link)
        await off_loop(browser.save_screenshot, str(shots / "1-login-link.png"))
        await off_loop(lambda: browser.find_element("id", "use-link").click())
        await off_loop(wait_for, browser, lambda d: d.current_url.endswith("/live"))
        await off_loop(wait_for, browser, lambda d: d.find_element("id", "connection").text == "live")
        assert "what should I name my cat?" in browser.page_source
        await off_loop(browser.save_screenshot, str(shots / "2-live.png"))

        # A new question, answered by a real graph run while the page watches.
        fake_openai.push(Reply("Take an umbrella."))
        event = make_event("@Observer is it raining?", author="dora", mentions_bot=True)
        run = asyncio.create_task(door_run(filled, event))
        state = await off_loop(wait_for, browser, row_state(event.message_id))
        assert state in ("waiting", "answering", "answered")
        await run
        await off_loop(wait_for, browser, lambda d: row_state(event.message_id)(d) == "answered")
        row = browser.find_element("id", f"m{event.message_id}").text
        assert "dora" in row and "respond" in row and "chat" in row
        await off_loop(browser.save_screenshot, str(shots / "3-live-answered.png"))

        # The channel's mode, changed in the page, is in the record and rules the next run.
        await off_loop(browser.get, base + "/channels")
        await off_loop(
            lambda: browser.find_element("css selector", f"#c{CHANNEL} select[name=mode] option[value=off]").click()
        )
        await off_loop(lambda: browser.find_element("css selector", f"#c{CHANNEL} button").click())
        await off_loop(wait_for, browser, lambda d: d.find_elements("id", "changed"))
        await off_loop(browser.save_screenshot, str(shots / "4-channels-off.png"))
        assert await filled.record.channel_mode(CHANNEL) == "off"
        await asyncio.sleep(CACHE_SECONDS + 0.1)  # the bot's own cached copy of the mode runs out
        final = await door_run(filled, make_event("@Observer are you there?", author="dora", mentions_bot=True))
        assert not final.reply and final.decision is not None and final.decision.respond is False

        # The server's own system prompt: edited in the page, the changes shown, then saved.
        await off_loop(browser.get, f"{base}/prompts/system?guild={GUILD}")
        default = (filled.settings.prompts_dir / "system.md").read_text(encoding="utf-8")
        edited = default.replace("\n", "\nAlways answer in rhyming couplets.\n", 1)
        area = browser.find_element("id", "text")
        await off_loop(area.clear)
        await off_loop(area.send_keys, edited)
        await off_loop(lambda: browser.find_element("id", "preview").click())
        diff = await off_loop(wait_for, browser, lambda d: d.find_elements("id", "diff"))
        assert "+Always answer in rhyming couplets." in diff[0].text.splitlines()
        await off_loop(browser.save_screenshot, str(shots / "5-prompt-diff.png"))
        override = filled.settings.data_dir / "prompts" / str(GUILD) / "system.md"
        assert not override.exists(), "nothing is saved by a preview"
        await off_loop(lambda: browser.find_element("id", "save").click())
        await off_loop(wait_for, browser, lambda d: d.find_elements("id", "saved"))
        await off_loop(browser.save_screenshot, str(shots / "6-prompt-saved.png"))
        assert override.read_text(encoding="utf-8") == edited
        await asyncio.sleep(OVERRIDE_RESCAN_SECONDS + 0.1)  # the bot looks for new overrides again
        values = {v: "" for v in PROMPT_VARIABLES["system"]}
        assert "rhyming couplets" in filled.prompts.render("system", GUILD, **values)
        assert sorted(p.name for p in shots.iterdir()) >= ["1-login-link.png", "2-live.png"]
    finally:
        await server.close()
        await board.record.close()
