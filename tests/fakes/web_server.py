"""Real HTTP servers on 127.0.0.1 for the web tools: pages (an article, text, JSON, a PDF, a huge page,
a drip-fed page, redirects, a gzip bomb) that count the bytes they really sent, and search providers
at their real JSON API shapes (SearxNG, Brave Search API, Tavily)."""

from __future__ import annotations

import asyncio
import gzip
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

ARTICLE = """<!doctype html><html><head><title>Harborlight tides</title></head><body>
<nav><a href="/">Home</a> | <a href="/shop">Shop</a> | <a href="/login">Log in</a></nav>
<div class="cookie">We use cookies. Accept all?</div>
<article><h1>Tides in Nagoya harbour this week</h1>
<p>The high tide in Nagoya harbour comes at 06:12 on Saturday and the low tide at 12:40. Fishing boats
leave about an hour before high water, and the ferry to Toba waits for the tide on spring days.</p>
<p>In spring the range between the highest and lowest water is about two metres, a little more than
in autumn, so the lower quays flood on the mornings around the new moon.</p></article>
<footer>© 2026 Harborlight Port Authority · Privacy · Terms</footer></body></html>"""

MB = 1024 * 1024


@dataclass
class Served:
    """What one endpoint really sent: bytes written before the client went away, and whether it finished."""

    sent: int = 0
    finished: bool = False
    gone: asyncio.Event = field(default_factory=asyncio.Event)


class FakeWeb:
    def __init__(self, huge_bytes: int = 50 * MB, drip_every_s: float = 0.2) -> None:
        self.huge_bytes = huge_bytes
        self.drip_every_s = drip_every_s
        self.served: dict[str, Served] = {}
        self.hits: dict[str, int] = {}
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._bomb_body = b""

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/article", self._article)
        app.router.add_get("/notes.txt", self._text)
        app.router.add_get("/data.json", self._json)
        app.router.add_get("/manual.pdf", self._pdf)
        app.router.add_get("/huge", self._huge)
        app.router.add_get("/slow", self._slow)
        app.router.add_get("/bomb", self._bomb)
        app.router.add_get("/redirect", self._redirect)
        app.router.add_get("/loop", self._loop)
        app.router.add_get("/secret", self._secret)
        app.router.add_get("/tangle", self._tangle)
        app.router.add_get("/deep.json", self._deep_json)
        app.router.add_get("/idna.txt", self._idna_text)
        app.router.add_get("/short-body", self._short_body)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self.base

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def bomb_body(self) -> bytes:
        """50 MB of zeros, gzipped once (a benchmark builds it before measuring)."""
        if not self._bomb_body:
            self._bomb_body = gzip.compress(b"<html><body>" + b"0" * self.huge_bytes, 9)
        return self._bomb_body

    def _hit(self, name: str) -> None:
        self.hits[name] = self.hits.get(name, 0) + 1

    async def _article(self, _request: web.Request) -> web.Response:
        self._hit("article")
        return web.Response(text=ARTICLE, content_type="text/html")

    async def _text(self, _request: web.Request) -> web.Response:
        return web.Response(text="Tide notes\n06:12 high\n12:40 low\n", content_type="text/plain")

    async def _json(self, _request: web.Request) -> web.Response:
        return web.json_response({"port": "Nagoya", "high": "06:12", "low": "12:40"})

    async def _pdf(self, _request: web.Request) -> web.Response:
        self._hit("pdf")
        return web.Response(body=b"%PDF-1.7\n" + b"\0" * 1000, content_type="application/pdf")

    async def _secret(self, _request: web.Request) -> web.Response:
        self._hit("secret")
        return web.Response(text="the router's admin password is hunter2", content_type="text/plain")

    async def _tangle(self, _request: web.Request) -> web.Response:
        """2 MB of links: seconds of CPU and hundreds of MB for the extractor (a tester's hostile page)."""
        return web.Response(text="<html><body>" + "<a href=/x>l</a> " * 120_000, content_type="text/html")

    async def _deep_json(self, _request: web.Request) -> web.Response:
        return web.Response(text="[" * 100_000 + "]" * 100_000, content_type="application/json")

    async def _idna_text(self, _request: web.Request) -> web.Response:
        return web.Response(body=b"Tide notes: 06:12 high", headers={"Content-Type": "text/plain; charset=idna"})

    async def _short_body(self, request: web.Request) -> web.StreamResponse:
        """Content-Length promises 1000 bytes; 5 come, then the connection closes."""
        response = web.StreamResponse(headers={"Content-Type": "text/plain", "Content-Length": "1000"})
        await response.prepare(request)
        await response.write(b"hello")
        assert request.transport is not None
        request.transport.close()
        return response

    async def _redirect(self, request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["to"])

    async def _loop(self, request: web.Request) -> web.Response:
        n = int(request.query.get("n", "0"))
        raise web.HTTPFound(f"/loop?n={n + 1}")

    async def _stream(
        self, request: web.Request, name: str, pieces: Any, headers: dict[str, str] | None = None
    ) -> web.StreamResponse:
        served = self.served.setdefault(name, Served())
        response = web.StreamResponse(headers={"Content-Type": "text/html; charset=utf-8", **(headers or {})})
        await response.prepare(request)
        try:
            async for piece in pieces:
                await response.write(piece)
                served.sent += len(piece)
            await response.write_eof()
            served.finished = True
        except (ConnectionError, RuntimeError):  # the client hung up
            pass
        finally:
            served.gone.set()
        return response

    async def _huge(self, request: web.Request) -> web.StreamResponse:
        """A page of `huge_bytes` (50 MB), announced in Content-Length, written 64 KB at a time."""
        chunk = (b"<p>" + b"tide " * 12_000 + b"</p>\n")[: 64 * 1024]

        head = b"<html><head><title>Huge</title></head><body>"

        async def pieces() -> Any:
            yield head
            left = self.huge_bytes
            while left > 0:
                yield chunk[:left]
                left -= len(chunk)

        return await self._stream(request, "huge", pieces(), {"Content-Length": str(self.huge_bytes + len(head))})

    async def _slow(self, request: web.Request) -> web.StreamResponse:
        """A page that never ends: one byte every `drip_every_s`."""

        async def pieces() -> Any:
            yield b"<html><body><p>"
            while True:
                await asyncio.sleep(self.drip_every_s)
                yield b"."

        return await self._stream(request, "slow", pieces())

    async def _bomb(self, request: web.Request) -> web.StreamResponse:
        """50 MB of zeros gzipped to ~50 KB: the cap counts what it inflates to."""
        packed = self.bomb_body()

        async def pieces() -> Any:
            for start in range(0, len(packed), 16 * 1024):
                yield packed[start : start + 16 * 1024]

        return await self._stream(request, "bomb", pieces(), {"Content-Encoding": "gzip"})


RESULTS = [
    ("Tide table — Nagoya Port", "https://tides.example/nagoya", "High tide <strong>06:12</strong>, low 12:40"),
    ("Nagoya harbour guide", "https://harbour.example/guide", "Ferries &amp; fishing boats wait for the tide."),
    ("Tides explained", "https://science.example/tides", "Why the moon moves the sea."),
]


class FakeSearch:
    """SearxNG (`GET /search?q=&format=json`), Brave (`GET /res/v1/web/search`, `X-Subscription-Token`) and
    Tavily (`POST /search` with a Bearer key) in one server, answering with each one's real JSON shape."""

    def __init__(self, key: str = "") -> None:
        self.key = key
        self.requests: list[dict[str, Any]] = []
        self._runner: web.AppRunner | None = None
        self.base = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/search", self._searxng)
        app.router.add_get("/res/v1/web/search", self._brave)
        app.router.add_post("/tavily/search", self._tavily)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{port}"
        return self.base

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _searxng(self, request: web.Request) -> web.Response:
        self.requests.append({"provider": "searxng", **request.query})
        if request.query.get("format") != "json":
            return web.Response(status=403, text="403 Forbidden")  # what an instance without `json` answers
        q = request.query["q"]
        results = [
            {
                "url": url,
                "title": title,
                "content": snippet.replace("<strong>", "").replace("</strong>", ""),
                "engine": "duckduckgo",
                "parsed_url": ["https", url.split("/")[2], "/" + url.split("/", 3)[3], "", "", ""],
                "template": "default.html",
                "engines": ["duckduckgo", "brave"],
                "positions": [n + 1, n + 2],
                "score": 3.0 - n,
                "category": "general",
                "publishedDate": None,
                "thumbnail": "",
            }
            for n, (title, url, snippet) in enumerate(RESULTS)
        ]
        return web.json_response(
            {
                "query": q,
                "number_of_results": 0,
                "results": results,
                "answers": [],
                "corrections": [],
                "infoboxes": [],
                "suggestions": [f"{q} today"],
                "unresponsive_engines": [["google", "timeout"]],
            }
        )

    async def _brave(self, request: web.Request) -> web.Response:
        self.requests.append(
            {"provider": "brave", **request.query, "token": request.headers.get("X-Subscription-Token")}
        )
        if request.headers.get("X-Subscription-Token") != self.key:
            error = {"id": "0c5c4a3e", "status": 401, "code": "SUBSCRIPTION_TOKEN_INVALID", "detail": "invalid"}
            return web.json_response({"type": "ErrorResponse", "error": error, "time": 1767225600}, status=401)
        q = request.query["q"]
        count = int(request.query.get("count", "20"))
        results = [
            {
                "title": title,
                "url": url,
                "is_source_local": False,
                "is_source_both": False,
                "description": snippet,
                "page_age": "2026-11-28T09:00:00",
                "profile": {"name": url.split("/")[2], "url": url, "long_name": url.split("/")[2], "img": ""},
                "language": "en",
                "family_friendly": True,
                "type": "search_result",
                "subtype": "generic",
                "meta_url": {"scheme": "https", "netloc": url.split("/")[2], "hostname": url.split("/")[2]},
                "age": "2 days ago",
            }
            for title, url, snippet in RESULTS[:count]
        ]
        return web.json_response(
            {
                "type": "search",
                "query": {"original": q, "show_strict_warning": False, "is_navigational": False, "country": "us"},
                "mixed": {"type": "mixed", "main": [{"type": "web", "index": i, "all": False} for i in range(3)]},
                "web": {"type": "search", "results": results, "family_friendly": True},
            }
        )

    async def _tavily(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append({"provider": "tavily", **body, "auth": request.headers.get("Authorization")})
        if request.headers.get("Authorization") != f"Bearer {self.key}":
            return web.json_response({"detail": {"error": "Unauthorized: missing or invalid API key."}}, status=401)
        results = [
            {"title": title, "url": url, "content": snippet, "score": 0.9 - n / 10, "raw_content": None}
            for n, (title, url, snippet) in enumerate(RESULTS[: int(body.get("max_results", 5))])
        ]
        return web.json_response(
            {
                "query": body["query"],
                "follow_up_questions": None,
                "answer": None,
                "images": [],
                "results": results,
                "response_time": 1.12,
                "request_id": "123e4567-e89b-12d3-a456-426614174111",
            }
        )
