"""The web tools, built in but off until `[web]` in observer.toml turns them on: fetch_url (read a page a
member linked, public addresses only) and web_search (the operator's provider). Both only read: no
approval is asked; the server list (`guilds`) and every other rule of agent/tools/policy.py apply.
aiohttp and trafilatura load only when a tool is on (or, for trafilatura, when a page is read)."""

from __future__ import annotations

from typing import Any

from agent.tools.base import Tool, ToolRun
from agent.tools.config import WebToolsSpec


def _host(url: Any) -> str:
    text = str(url or "")
    return text.split("//", 1)[-1].split("/", 1)[0][:60]


def web_tools(spec: WebToolsSpec, result_tokens: int) -> list[Tool]:
    tools: list[Tool] = []
    if spec.fetch.enabled:
        tools.append(fetch_tool(spec, result_tokens))
    if spec.search.on:
        tools.append(search_tool(spec))
    return tools


def fetch_tool(spec: WebToolsSpec, result_tokens: int) -> Tool:
    from agent.tools.web.fetch import Fetcher, extracted, for_the_model

    fetcher = Fetcher(spec.fetch)
    budget = spec.fetch.result_tokens or result_tokens

    async def fetch_url(arguments: dict[str, Any], _run: ToolRun) -> str:
        page = await fetcher.fetch(str(arguments.get("url") or ""))
        # trafilatura in a child process, bounded in time and memory: a hostile page costs the child.
        title, text = await extracted(page, timeout_s=spec.fetch.timeout_s, memory_mb=spec.fetch.extract_memory_mb)
        return for_the_model(page, title, text, budget)

    return Tool(
        name="fetch_url",
        description=(
            "Read a web page (http or https) and return its main text, title and final URL. Use it for a link "
            "a member shared or a search result worth reading. Public pages only; HTML, plain text and JSON."
        ),
        parameters={
            "type": "object",
            "properties": {"url": {"type": "string", "description": "the full URL, http:// or https://"}},
            "required": ["url"],
        },
        invoke=fetch_url,
        status=lambda a: f"🌐 reading {_host(a.get('url'))}…",
        guilds=frozenset(spec.fetch.guilds) if spec.fetch.guilds is not None else None,
        extra={"result_tokens": budget},
    )


def search_tool(spec: WebToolsSpec) -> Tool:
    from agent.tools.web.search import Searcher, numbered

    searcher = Searcher(spec.search)
    limit = spec.search.results

    async def web_search(arguments: dict[str, Any], _run: ToolRun) -> str:
        query = " ".join(str(arguments.get("query") or "").split())
        if not query:
            return "say what to search for"
        results = await searcher.search(query, int(arguments.get("count") or limit))
        return numbered(query, searcher.provider, results)

    read_more = " Read a result's page with fetch_url when the snippet is not enough." if spec.fetch.enabled else ""
    return Tool(
        name="web_search",
        description=(
            "Search the web for current or outside information. Returns numbered results with title, URL and "
            "snippet. In your answer, cite every result you use as a Markdown link [title](url); never invent a "
            "URL." + read_more
        ),
        parameters={
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "what to search for, as you would type it"},
                "count": {"type": "integer", "minimum": 1, "maximum": limit},
            },
            "required": ["query"],
        },
        invoke=web_search,
        status=lambda a: f"🔎 searching the web for “{str(a.get('query', ''))[:40]}”…",
        guilds=frozenset(spec.search.guilds) if spec.search.guilds is not None else None,
    )
