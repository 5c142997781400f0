"""Downloading the start of an attachment: http(s) only, never more than a given number of bytes."""

from __future__ import annotations

from agent.voice.fetch import TooLarge, fetch


async def fetch_head(url: str, max_bytes: int, timeout_s: float) -> tuple[bytes, bool]:
    """(the first `max_bytes` bytes at most, whether that is the whole file). A text file is read from
    its start (the model reads its beginning); only http(s) URLs, as for audio (no local paths)."""
    if not url.startswith(("https://", "http://")):
        raise ValueError("only http(s) attachment URLs are fetched")
    import aiohttp  # with the first download: a run that fetches nothing never loads it (~0.4 s)

    timeout = aiohttp.ClientTimeout(total=timeout_s)
    async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as response:
        response.raise_for_status()
        data = bytearray()
        async for chunk in response.content.iter_chunked(64 * 1024):
            data.extend(chunk)
            if len(data) > max_bytes:
                return bytes(data[:max_bytes]), False
        return bytes(data), True


async def fetch_whole(url: str, max_bytes: int, timeout_s: float) -> bytes:
    """The whole file (a PDF is useless cut); TooLarge past `max_bytes`."""
    return await fetch(url, max_bytes, timeout_s)


__all__ = ["TooLarge", "fetch_head", "fetch_whole"]
