"""fetch_url: read one page (http or https) and give the model its main text, within the operator's bounds.

Bounds: at most `max_bytes` read (counted while streaming, compressed and decompressed alike, so a
50 MB page or a gzip bomb costs `max_bytes`), the whole fetch (every redirect, DNS, the body) within
`timeout_s`, at most `max_redirects` hops, each checked against the address rules (guard.py)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import sys
import zlib
from dataclasses import dataclass

import aiohttp
from yarl import URL

from agent.models.tokens import approx_tokens
from agent.tools.config import WebFetchSpec
from agent.tools.mcp import ToolFailed
from agent.tools.web.guard import AddressGuard, CheckedResolver, Refused, parse_ip

USER_AGENT = "ObserverBot/0.1 (a Discord bot reading a page a member linked)"
HTML_TYPES = ("text/html", "application/xhtml+xml")
REDIRECTS = (301, 302, 303, 307, 308)
CHUNK = 64 * 1024


@dataclass
class Page:
    url: str  # the final URL, after redirects
    content_type: str
    charset: str | None
    body: bytes
    cut: bool  # stopped at max_bytes


def is_text_type(content_type: str) -> bool:
    return (
        content_type.startswith("text/")
        or content_type in ("application/json", "application/xml", "application/javascript")
        or content_type.endswith(("+json", "+xml"))
    )


class Fetcher:
    def __init__(self, spec: WebFetchSpec) -> None:
        self.spec = spec
        self.allowed = spec.allowed()

    async def fetch(self, raw_url: str) -> Page:
        """The page at `raw_url`, or ToolFailed with one line the model can pass on."""
        url = self._parse(raw_url)
        guard = AddressGuard(self.allowed)
        progress = [0]  # bytes read so far, for the message when time runs out
        connector = aiohttp.TCPConnector(resolver=CheckedResolver(guard), use_dns_cache=False, limit=4)
        session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,  # decompressed here, within the byte cap
            trust_env=False,  # a proxy from the environment would make the address checks meaningless
            headers={
                "User-Agent": USER_AGENT,
                "Accept": "text/html,application/xhtml+xml,text/plain;q=0.9,application/json;q=0.8,*/*;q=0.1",
                "Accept-Encoding": "gzip, deflate",
            },
        )
        try:
            async with asyncio.timeout(self.spec.timeout_s):
                return await self._follow(session, url, guard, progress)
        except TimeoutError:
            raise ToolFailed(
                f"fetch_url stopped: {raw_url} did not finish within {self.spec.timeout_s:g} s "
                f"({progress[0]:,} bytes read)"
            ) from None
        finally:
            await session.close()

    def _parse(self, raw: str, base: URL | None = None) -> URL:
        try:
            url = base.join(URL(raw)) if base is not None else URL(raw.strip())
        except ValueError:
            raise ToolFailed(f"fetch_url: {raw!r} is not a URL") from None
        if url.scheme not in ("http", "https"):
            raise ToolFailed(f"fetch_url reads http and https only, not {url.scheme or 'a bare path'}: {raw}")
        if not url.host:
            raise ToolFailed(f"fetch_url: {raw!r} has no host")
        return url.with_user(None).with_fragment(None)

    def _check_literal(self, url: URL, guard: AddressGuard) -> URL:
        """An address written in the URL is not resolved (aiohttp connects to it as is): checked here, and
        an IPv4 address in another form (2130706433, 0x7f.1) rewritten to the one checked."""
        assert url.host is not None and url.port is not None
        ip = parse_ip(url.host)
        if ip is not None and guard.check(url.host, ip, url.port) is not None:
            raise ToolFailed(self._refused(url, guard))
        if ip is not None and ip.version == 4 and url.host != str(ip):
            return url.with_host(str(ip))
        return url

    @staticmethod
    def _refused(url: URL, guard: AddressGuard) -> str:
        return f"fetch_url refused {url}: {guard.refusal}; it reads public pages only"

    async def _follow(self, session: aiohttp.ClientSession, url: URL, guard: AddressGuard, progress: list[int]) -> Page:
        for hop in range(self.spec.max_redirects + 1):
            url = self._check_literal(url, guard)
            try:
                response = await session.get(url, allow_redirects=False)
            except aiohttp.ClientConnectorError as exc:
                if isinstance(exc.os_error, Refused) or guard.refusal is not None:
                    raise ToolFailed(self._refused(url, guard)) from None
                raise ToolFailed(f"fetch_url could not connect to {url.host}: {type(exc.os_error).__name__}") from None
            except aiohttp.ClientError as exc:
                raise ToolFailed(f"fetch_url: {url} failed ({type(exc).__name__})") from None
            async with response:
                if response.status in REDIRECTS and "Location" in response.headers:
                    if hop == self.spec.max_redirects:
                        break
                    url = self._parse(response.headers["Location"], base=url)
                    continue
                if response.status >= 400:
                    raise ToolFailed(f"fetch_url: {url} answered {response.status} {response.reason or ''}".rstrip())
                content_type = response.content_type.lower()
                if content_type == "application/octet-stream" and "Content-Type" not in response.headers:
                    content_type = "text/html"  # no type given: most likely a page; trafilatura copes either way
                if content_type not in HTML_TYPES and not is_text_type(content_type):
                    raise ToolFailed(
                        f"fetch_url reads web pages and text, not {content_type} ({url}); "
                        "tell the member it is a file the bot does not open"
                    )
                body, cut = await self._read(response, progress)
                return Page(str(url), content_type, response.charset, body, cut)
        raise ToolFailed(f"fetch_url: {url} redirects more than {self.spec.max_redirects} times; not followed")

    async def _read(self, response: aiohttp.ClientResponse, progress: list[int]) -> tuple[bytes, bool]:
        """The body, at most max_bytes of it (after decompression), counted as it streams in."""
        cap = self.spec.max_bytes
        encoding = response.headers.get("Content-Encoding", "identity").lower().strip()
        if encoding not in ("identity", "gzip", "x-gzip", "deflate", ""):
            raise ToolFailed(f"fetch_url: {response.url} is sent as {encoding}, which it does not read")
        inflate = zlib.decompressobj(47) if encoding != "identity" and encoding else None  # gzip or zlib
        parts: list[bytes] = []
        size = raw = 0
        cut = False
        try:
            async for chunk in response.content.iter_chunked(CHUNK):
                raw += len(chunk)
                progress[0] = raw
                if inflate is not None:
                    try:
                        chunk = inflate.decompress(chunk, cap - size + 1)
                    except zlib.error:
                        raise ToolFailed(f"fetch_url: {response.url} sent a broken {encoding} body") from None
                    over = bool(inflate.unconsumed_tail)
                else:
                    over = False
                if size + len(chunk) > cap or over or raw > cap:
                    parts.append(chunk[: cap - size])
                    size = cap
                    cut = True
                    break
                parts.append(chunk)
                size += len(chunk)
        except aiohttp.ClientPayloadError:
            raise ToolFailed(f"fetch_url: {response.url} sent a body cut short or malformed") from None
        if cut:
            response.close()  # drop the connection: nothing more is downloaded
        return b"".join(parts), cut


def page_text(page: Page) -> tuple[str, str]:
    """(title, main text) of a fetched page: trafilatura for HTML, the text itself otherwise."""
    if page.content_type in HTML_TYPES:
        import trafilatura  # loaded on the first page fetched, not at start

        tree = trafilatura.load_html(page.body)
        if tree is None:
            return "", decode(page.body, page.charset)
        title = " ".join((tree.findtext(".//title") or "").split())
        # Without metadata: trafilatura's date search and fingerprint would double the time on a big page.
        text = trafilatura.extract(tree, url=page.url, with_metadata=False, include_comments=False)
        return title, text or trafilatura.html2txt(page.body) or ""
    text = decode(page.body, page.charset)
    if page.content_type.endswith("json") and not page.cut:
        try:  # pretty-printed, so a minified document reads line by line
            text = json.dumps(json.loads(text), indent=1, ensure_ascii=False)
        except (ValueError, RecursionError):  # not JSON, or nested too deep to print: as it came
            pass
    return "", text


async def extracted(page: Page, *, timeout_s: float, memory_mb: int) -> tuple[str, str]:
    """page_text in a child process (extract_worker) within `timeout_s` and `memory_mb`; ToolFailed
    with one line when the page needs more."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agent.tools.web.extract_worker",
        page.url, page.content_type, page.charset or "", "1" if page.cut else "0",
        str(memory_mb), str(max(1, math.ceil(timeout_s))),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        out, _ = await asyncio.wait_for(proc.communicate(page.body), timeout=timeout_s)
    except (TimeoutError, asyncio.CancelledError) as exc:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        if isinstance(exc, asyncio.CancelledError):
            raise
        raise ToolFailed(f"fetch_url: reading the text of {page.url} took longer than {timeout_s:g} s") from None
    try:
        result = json.loads(out)
        return str(result["title"]), str(result["text"])
    except (ValueError, KeyError, TypeError):
        raise ToolFailed(f"fetch_url: the text of {page.url} needs more memory or time than allowed to read") from None


def decode(body: bytes, charset: str | None) -> str:
    if charset:
        try:
            return body.decode(charset, errors="replace")
        except (LookupError, UnicodeError):  # unknown, or a codec such as idna that is not for text
            pass
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes

        best = from_bytes(body).best()
        return str(best) if best is not None else body.decode("utf-8", errors="replace")


def for_the_model(page: Page, title: str, text: str, budget_tokens: int) -> str:
    """What fetch_url returns: the final URL, title and type, then as much of the text as the budget holds."""
    notes = [page.content_type, f"{len(page.body):,} bytes"]
    if page.cut:
        notes.append(f"the page was cut at {len(page.body):,} bytes")
    head = f"{page.url}\n" + (f"title: {title}\n" if title else "") + f"({'; '.join(notes)})\n\n"
    text = text.strip() or "(no readable text on this page)"
    room = max(budget_tokens - approx_tokens(head) - 30, 20)
    if approx_tokens(text) <= room:
        return head + text
    ratio = len(text) / max(approx_tokens(text), 1)
    keep = int(room * ratio)
    cut = text.rfind(" ", keep * 3 // 4, keep)
    shown = text[: cut if cut > 0 else keep].rstrip()
    return head + shown + f"\n[… first {len(shown):,} of {len(text):,} characters of the text]"
