"""Downloading an audio attachment: http(s) only, never more than the size limit."""

from __future__ import annotations

from agent.events import Attachment

AUDIO_SUFFIXES = (".ogg", ".oga", ".opus", ".mp3", ".wav", ".m4a", ".aac", ".flac", ".webm")


class TooLarge(ValueError):
    pass


def is_audio(attachment: Attachment) -> bool:
    return (
        attachment.is_voice
        or (attachment.content_type or "").startswith("audio/")
        or attachment.filename.lower().endswith(AUDIO_SUFFIXES)
    )


async def fetch(url: str, max_bytes: int, timeout_s: float = 30.0) -> bytes:
    """The file's bytes. Refuses anything but http(s) (no local paths) and stops past `max_bytes`."""
    if not url.startswith(("https://", "http://")):
        raise ValueError("only http(s) attachment URLs are fetched")
    import aiohttp  # with the first download: a run that fetches nothing never loads it (~0.4 s)

    timeout = aiohttp.ClientTimeout(total=timeout_s)
    async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as response:
        response.raise_for_status()
        if response.content_length is not None and response.content_length > max_bytes:
            raise TooLarge(f"{response.content_length} bytes")
        data = bytearray()
        async for chunk in response.content.iter_chunked(64 * 1024):
            data.extend(chunk)
            if len(data) > max_bytes:
                raise TooLarge(f"more than {max_bytes} bytes")
        return bytes(data)
