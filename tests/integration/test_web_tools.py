"""The web tools (issue N) against real HTTP servers on 127.0.0.1: fetch_url reads a page's main text,
refuses private addresses (redirects included), stops a huge page at its byte cap and a drip-fed one at
its time cap; web_search on SearxNG, Brave and Tavily at their real JSON shapes; and one question through
the reply graph where the model reads a linked page.

The test servers are on loopback, which fetch_url refuses: the page server is listed by host:port in
`allowed_private_hosts`, the "secret" server on another port is not. Bounds are asserted on bytes and on
the tool's own words, never on wall-clock time."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from agent.services import Services
from agent.state import Context
from agent.stream import Notice, StateUpdate, Token, reply_events
from agent.tools.base import ToolRun
from agent.tools.config import WebFetchSpec, WebSearchSpec, WebToolsSpec
from agent.tools.mcp import ToolFailed
from agent.tools.toolbox import Toolbox
from agent.tools.web import web_tools
from agent.tools.web.fetch import Fetcher
from tests.conftest import make_event, make_services, models_toml, reply_graph
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.fakes.web_server import MB, FakeSearch, FakeWeb

BOT = "Observer"
KEY = "brv-test-key-0123456789abcdef"


@pytest.fixture
async def site() -> AsyncIterator[FakeWeb]:
    server = FakeWeb()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def secret() -> AsyncIterator[FakeWeb]:
    """Another loopback server, standing for what the bot must not reach (not in the allow-list)."""
    server = FakeWeb()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def search() -> AsyncIterator[FakeSearch]:
    server = FakeSearch(key=KEY)
    await server.start()
    yield server
    await server.stop()


def toolbox(site: FakeWeb, **fetch: Any) -> Toolbox:
    spec = WebToolsSpec(fetch=WebFetchSpec(enabled=True, allowed_private_hosts=[f"127.0.0.1:{site.port}"], **fetch))
    return Toolbox(web_tools(spec, 1000), result_tokens=1000)


async def fetch(box: Toolbox, url: str) -> tuple[str, str]:
    outcome = await box.call("fetch_url", {"url": url}, ToolRun(make_event("read this")))
    return outcome.outcome, outcome.result


async def test_a_page_is_read_and_its_main_text_returned(site: FakeWeb) -> None:
    box = toolbox(site)
    outcome, text = await fetch(box, f"{site.base}/article")
    assert outcome == "ok"
    first, title = text.splitlines()[:2]
    assert first == f"{site.base}/article"  # the final URL, first
    assert title == "title: Harborlight tides"
    assert "Tides in Nagoya harbour this week\nThe high tide in Nagoya harbour comes at 06:12 on Saturday" in text
    assert "cookies" not in text and "Log in" not in text  # boilerplate left out

    # Redirected: the final URL is named.
    _, text = await fetch(box, f"{site.base}/redirect?to=/article")
    assert text.startswith(f"{site.base}/article\n")

    # Text and JSON come back as text; other types are refused in one line, before the body is read.
    _, text = await fetch(box, f"{site.base}/notes.txt")
    assert "06:12 high\n12:40 low" in text and "text/plain" in text
    _, text = await fetch(box, f"{site.base}/data.json")
    assert json.loads(text.split("\n\n", 1)[1]) == {"port": "Nagoya", "high": "06:12", "low": "12:40"}
    outcome, text = await fetch(box, f"{site.base}/manual.pdf")
    assert outcome == "failed"
    assert text.startswith("fetch_url reads web pages and text, not application/pdf")
    assert "\n" not in text

    outcome, text = await fetch(box, "file:///etc/passwd")
    assert (outcome, text) == ("failed", "fetch_url reads http and https only, not file: file:///etc/passwd")


async def test_the_result_fits_the_budget_and_names_the_final_url(site: FakeWeb) -> None:
    box = toolbox(site, result_tokens=60)
    _, text = await fetch(box, f"{site.base}/article")
    assert text.startswith(f"{site.base}/article\ntitle: ")
    assert "[… first " in text and "characters of the text]" in text
    assert len(text) < 60 * 4 + 40


async def test_private_addresses_are_refused_redirects_included(site: FakeWeb, secret: FakeWeb) -> None:
    box = toolbox(site)  # the page server's port is allowed, the secret server's is not
    hidden = f"127.0.0.1:{secret.port}"
    cases = {
        f"http://{hidden}/secret": f"fetch_url refused http://{hidden}/secret: 127.0.0.1 is a loopback address",
        f"{site.base}/redirect?to=http://{hidden}/secret": "127.0.0.1 is a loopback address",
        f"{site.base}/redirect?to=http://localhost:{secret.port}/secret": "localhost (127.0.0.1) is a loopback",
        f"{site.base}/redirect?to=http://[::ffff:127.0.0.1]:{secret.port}/secret": "loopback (inside ::ffff:7f00:1)",
        f"{site.base}/redirect?to=http://169.254.169.254/latest/meta-data/": "169.254.169.254 is a link-local",
        f"{site.base}/redirect?to=http://[::1]:{secret.port}/secret": "::1 is a loopback address",
        f"{site.base}/redirect?to=http://0.0.0.0:{secret.port}/secret": "0.0.0.0 is an unspecified address",
        f"{site.base}/redirect?to=http://10.11.12.13/": "10.11.12.13 is a private address",
    }
    for url, expected in cases.items():
        outcome, text = await fetch(box, url)
        assert outcome == "failed", url
        assert expected in text, (url, text)
        assert text.endswith("it reads public pages only")
    assert secret.hits.get("secret", 0) == 0  # the secret server was never asked

    outcome, text = await fetch(box, f"{site.base}/loop")
    assert text == f"fetch_url: {site.base}/loop?n=5 redirects more than 5 times; not followed"


async def test_a_huge_page_is_cut_at_the_byte_cap_while_streaming(site: FakeWeb) -> None:
    fetcher = Fetcher(WebFetchSpec(enabled=True, allowed_private_hosts=[f"127.0.0.1:{site.port}"], max_bytes=MB))
    page = await fetcher.fetch(f"{site.base}/huge")
    assert page.cut and len(page.body) == MB
    await site.served["huge"].gone.wait()  # the server notices the client hung up
    served = site.served["huge"]
    assert not served.finished
    # What the server managed to write before the hang-up: the cap plus what socket buffers held,
    # far from the 50 MB it was asked for.
    assert served.sent < 20 * MB, served.sent

    _, text = await fetch(toolbox(site, max_bytes=MB), f"{site.base}/huge")
    assert f"the page was cut at {MB:,} bytes" in text

    # Compressed: the cap counts what the body inflates to (a gzip bomb costs max_bytes).
    bomb = await fetcher.fetch(f"{site.base}/bomb")
    assert bomb.cut and len(bomb.body) == MB


async def test_a_drip_fed_page_is_stopped_at_the_time_cap(site: FakeWeb) -> None:
    fetcher = Fetcher(WebFetchSpec(enabled=True, allowed_private_hosts=[f"127.0.0.1:{site.port}"], timeout_s=1.0))
    with pytest.raises(ToolFailed) as failed:
        await fetcher.fetch(f"{site.base}/slow")
    message = str(failed.value)
    assert message.startswith(f"fetch_url stopped: {site.base}/slow did not finish within 1 s (")
    assert message.endswith(" bytes read)")
    await site.served["slow"].gone.wait()  # the connection was closed: the server stops dripping
    assert not site.served["slow"].finished


def search_box(search: FakeSearch, **spec: Any) -> Toolbox:
    return Toolbox(web_tools(WebToolsSpec(search=WebSearchSpec(**spec)), 1000), result_tokens=1000)


async def run_search(box: Toolbox, query: str = "nagoya tide") -> tuple[str, str]:
    outcome = await box.call("web_search", {"query": query}, ToolRun(make_event("search")))
    return outcome.outcome, outcome.result


EXPECTED = """results for 'nagoya tide' ({provider}); cite the ones you use as [title](url):
1. Tide table — Nagoya Port
   https://tides.example/nagoya
   High tide 06:12, low 12:40
2. Nagoya harbour guide
   https://harbour.example/guide
   Ferries & fishing boats wait for the tide.
3. Tides explained
   https://science.example/tides
   Why the moon moves the sea."""


async def test_searxng(search: FakeSearch) -> None:
    box = search_box(search, provider="searxng", url=search.base + "/")
    [tool] = box.all_tools()
    assert "cite every result you use as a Markdown link [title](url)" in tool.description
    outcome, text = await run_search(box)
    assert (outcome, text) == ("ok", EXPECTED.format(provider="searxng"))
    assert search.requests[-1] == {"provider": "searxng", "q": "nagoya tide", "format": "json", "pageno": "1"}


async def test_brave_with_the_key_from_the_environment(
    search: FakeSearch, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("OBSERVER_TEST_BRAVE_KEY", KEY)
    box = search_box(
        search, provider="brave", url=f"{search.base}/res/v1/web/search", api_key_env="OBSERVER_TEST_BRAVE_KEY"
    )
    outcome, text = await run_search(box)
    assert (outcome, text) == ("ok", EXPECTED.format(provider="brave"))
    assert search.requests[-1]["token"] == KEY and search.requests[-1]["count"] == "5"

    monkeypatch.setenv("OBSERVER_TEST_BRAVE_KEY", "brv-wrong-key-0123456789")
    outcome, text = await run_search(box)
    assert (outcome, text) == ("failed", "web_search: brave refused the search, 401 (check the API key)")
    assert KEY not in caplog.text and "brv-wrong-key" not in caplog.text


async def test_tavily(search: FakeSearch, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OBSERVER_TEST_TAVILY_KEY", KEY)
    box = search_box(
        search, provider="tavily", url=f"{search.base}/tavily/search", api_key_env="OBSERVER_TEST_TAVILY_KEY", results=2
    )
    outcome, text = await run_search(box)
    assert outcome == "ok"
    assert text == "\n".join(EXPECTED.format(provider="tavily").splitlines()[:7])  # two results
    request = search.requests[-1]
    assert (request["query"], request["max_results"], request["auth"]) == ("nagoya tide", 2, f"Bearer {KEY}")


@pytest.fixture
async def agent(
    tmp_path: Path, database_url: str, embedder: Any, fake_openai: FakeOpenAI, site: FakeWeb
) -> AsyncIterator[Services]:
    toml = models_toml(fake_openai.base_url).replace("timeout_s = 600", "timeout_s = 600\ntools = true")
    toml += f'\n[web.fetch]\nenabled = true\nallowed_private_hosts = ["127.0.0.1:{site.port}"]\n'
    services = await make_services(tmp_path, database_url, embedder, toml)
    yield services
    await services.close()


async def test_the_model_reads_a_linked_page_through_the_graph(
    agent: Services, fake_openai: FakeOpenAI, site: FakeWeb
) -> None:
    link = f"{site.base}/article"
    fake_openai.push(
        Reply(tool_calls=[("fetch_url", {"url": link})]),
        Reply(f"High tide in Nagoya is at 06:12 on Saturday ([Harborlight tides]({link}))."),
    )
    message = make_event(f"@{BOT} when is high tide? {link}", mentions_bot=True)
    tokens: list[str] = []
    notices: list[str] = []
    final: dict[str, Any] = {}
    stream = reply_graph(agent).astream(
        {"event": message}, context=Context(bot_name=BOT), stream_mode=["custom", "values"]
    )
    async for item in reply_events(stream):
        if isinstance(item, Token):
            tokens.append(item.text)
        elif isinstance(item, Notice):
            notices.append(item.text)
        elif isinstance(item, StateUpdate):
            final = item.state
    assert "".join(tokens) == f"High tide in Nagoya is at 06:12 on Saturday ([Harborlight tides]({link}))."
    assert notices == [f"🌐 reading 127.0.0.1:{site.port}…"]
    first, second = fake_openai.chat_requests()[-2:]
    assert "fetch_url" in [t["function"]["name"] for t in first.get("tools") or []]
    [result] = [m["content"] for m in second["messages"] if m["role"] == "tool"]
    assert result.startswith(link + "\n")
    assert "comes at 06:12 on Saturday" in result
    [row] = await agent.record.tool_calls_for(final["event"].message_id)
    assert (row["tool"], row["source"], row["outcome"]) == ("fetch_url", "built-in", "ok")


async def test_an_ipv4_address_in_another_form_is_refused_by_our_own_rules(secret: FakeWeb) -> None:
    """2130706433 is 127.0.0.1: refused by the address rules, whatever the HTTP client would do with it."""
    from agent.tools.web.guard import parse_ip

    box = Toolbox(web_tools(WebToolsSpec(fetch=WebFetchSpec(enabled=True)), 1000), result_tokens=1000)
    for host in ("2130706433", "0x7f.1", "017700000001", "127.1", "0"):
        assert parse_ip(host) is not None and not parse_ip(host).is_global, host  # type: ignore[union-attr]
        outcome, text = await fetch(box, f"http://{host}:{secret.port}/secret")
        assert outcome == "failed" and "refused" in text and "hunter2" not in text, (host, text)
    assert secret.hits.get("secret", 0) == 0


async def test_hostile_bodies_are_one_line_each(site: FakeWeb) -> None:
    # Seconds of extraction on any machine: stopped at the 1 s cap in its own process (on a very busy
    # machine the download itself may reach the cap first; either way the call is bounded).
    box = toolbox(site, timeout_s=1)
    outcome, text = await fetch(box, f"{site.base}/tangle")
    assert outcome == "failed" and ("took longer than 1 s" in text or "within 1 s" in text), text
    box = toolbox(site)
    outcome, text = await fetch(box, f"{site.base}/short-body")
    assert outcome == "failed" and "cut short" in text, text
    outcome, text = await fetch(box, f"{site.base}/deep.json")  # too deep to pretty-print: as it came
    assert outcome == "ok" and "[[[[" in text, text[:300]
    outcome, text = await fetch(box, f"{site.base}/idna.txt")  # a codec that is not for text: utf-8 instead
    assert outcome == "ok" and "06:12 high" in text, text


async def test_a_search_provider_redirect_is_not_followed_so_the_key_stays_home(
    site: FakeWeb, secret: FakeWeb, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A redirect carried Brave's X-Subscription-Token to wherever it pointed (a tester's finding)."""
    monkeypatch.setenv("OBSERVER_TEST_BRAVE_KEY", KEY)
    box = Toolbox(
        web_tools(
            WebToolsSpec(search=WebSearchSpec(
                provider="brave", url=f"{site.base}/redirect?to={secret.base}/secret", api_key_env="OBSERVER_TEST_BRAVE_KEY"
            )),
            1000,
        ),
        result_tokens=1000,
    )  # fmt: skip
    outcome, text = await run_search(box)
    assert outcome == "failed" and KEY not in text, text
    assert secret.hits.get("secret", 0) == 0, "the redirect was never followed"
