"""web_search: one query to the operator's search provider, results numbered with title, URL and snippet.

Providers, at their real JSON APIs: a SearxNG instance (`/search?q=…&format=json`), the Brave Search
API (`/res/v1/web/search`, key in `X-Subscription-Token`) and Tavily (`POST /search`, key as a Bearer
token). The key is read from the environment variable the config names, at each call, and never logged
or shown (agent/redact.py knows it)."""

from __future__ import annotations

import html
import json
import os
import re
from dataclasses import dataclass
from typing import Any

import aiohttp

from agent.tools.config import WebSearchSpec
from agent.tools.mcp import ToolFailed

BRAVE_URL = "https://api.search.brave.com/res/v1/web/search"
TAVILY_URL = "https://api.tavily.com/search"
MAX_RESPONSE_BYTES = 2_000_000
SNIPPET_CHARS = 300
_TAGS = re.compile(r"<[^>]{0,200}>")


@dataclass(frozen=True)
class Result:
    title: str
    url: str
    snippet: str


def clean(text: Any, limit: int = SNIPPET_CHARS) -> str:
    """A provider's text as plain words: highlight tags (<strong>) and entities gone, one line, bounded."""
    words = " ".join(html.unescape(_TAGS.sub("", str(text or ""))).split())
    return words if len(words) <= limit else words[: limit - 1].rstrip() + "…"


class Searcher:
    def __init__(self, spec: WebSearchSpec) -> None:
        assert spec.provider is not None
        self.spec = spec
        self.provider: str = spec.provider

    def _key(self) -> str:
        key = os.environ.get(self.spec.api_key_env or "", "")
        if not key:
            raise ToolFailed(f"web_search is not available: ${self.spec.api_key_env} is not set")
        return key

    async def search(self, query: str, count: int) -> list[Result]:
        count = max(1, min(count, self.spec.results))
        timeout = aiohttp.ClientTimeout(total=self.spec.timeout_s)
        async with aiohttp.ClientSession(timeout=timeout, trust_env=False) as session:
            try:
                if self.provider == "searxng":
                    assert self.spec.url is not None
                    base = self.spec.url.rstrip("/")
                    params = {"q": query, "format": "json", "pageno": "1"}
                    data = await self._json(session.get(f"{base}/search", params=params, allow_redirects=False))
                    return self._searxng(data)[:count]
                if self.provider == "brave":
                    params = {"q": query, "count": str(count)}
                    headers = {"Accept": "application/json", "X-Subscription-Token": self._key()}
                    # Never redirected: a redirect would carry the key to wherever it points.
                    data = await self._json(
                        session.get(self.spec.url or BRAVE_URL, params=params, headers=headers, allow_redirects=False)
                    )
                    return self._brave(data)[:count]
                body = {"query": query, "max_results": count, "search_depth": "basic", "include_answer": False}
                headers = {"Authorization": f"Bearer {self._key()}", "Content-Type": "application/json"}
                data = await self._json(
                    session.post(self.spec.url or TAVILY_URL, json=body, headers=headers, allow_redirects=False)
                )
                return self._tavily(data)[:count]
            except TimeoutError:
                took = f"{self.spec.timeout_s:g} s"
                raise ToolFailed(f"web_search: {self.provider} did not answer within {took}") from None
            except aiohttp.ClientError as exc:
                raise ToolFailed(f"web_search: could not reach {self.provider} ({type(exc).__name__})") from None

    async def _json(self, request: Any) -> Any:
        async with request as response:
            if response.status in (401, 403):
                hint = (
                    " (is `json` in the instance's search formats, settings.yml?)"
                    if self.provider == "searxng"
                    else " (check the API key)"
                )
                raise ToolFailed(f"web_search: {self.provider} refused the search, {response.status}{hint}")
            if response.status == 429:
                raise ToolFailed(f"web_search: {self.provider} says too many searches (429); try again later")
            if response.status >= 400:
                raise ToolFailed(f"web_search: {self.provider} answered {response.status}")
            body = await response.content.read(MAX_RESPONSE_BYTES + 1)
            if len(body) > MAX_RESPONSE_BYTES:
                raise ToolFailed(f"web_search: {self.provider}'s answer is over {MAX_RESPONSE_BYTES:,} bytes")
            try:
                return json.loads(body)
            except ValueError:
                raise ToolFailed(f"web_search: {self.provider} did not answer with JSON") from None

    @staticmethod
    def _results(items: Any, snippet_key: str) -> list[Result]:
        if not isinstance(items, list):
            return []
        return [
            Result(clean(item.get("title"), 200) or str(item["url"]), str(item["url"]), clean(item.get(snippet_key)))
            for item in items
            if isinstance(item, dict) and isinstance(item.get("url"), str) and item["url"].startswith("http")
        ]

    def _searxng(self, data: Any) -> list[Result]:
        return self._results(data.get("results") if isinstance(data, dict) else None, "content")

    def _brave(self, data: Any) -> list[Result]:
        web = data.get("web") if isinstance(data, dict) else None
        return self._results(web.get("results") if isinstance(web, dict) else None, "description")

    def _tavily(self, data: Any) -> list[Result]:
        return self._results(data.get("results") if isinstance(data, dict) else None, "content")


def numbered(query: str, provider: str, results: list[Result]) -> str:
    if not results:
        return f"no results for {query!r} ({provider})"
    lines = [f"results for {query!r} ({provider}); cite the ones you use as [title](url):"]
    for n, r in enumerate(results, 1):
        lines.append(f"{n}. {r.title}\n   {r.url}" + (f"\n   {r.snippet}" if r.snippet else ""))
    return "\n".join(lines)
