"""Reading one attachment within the caps: text files decoded, PDFs through a bounded child process,
anything else only named. Never raises: what could not be read becomes a note the model reads."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from agent.attachments.decode import NotText, decode_text
from agent.attachments.download import TooLarge, fetch_head, fetch_whole
from agent.attachments.kinds import declared_charset, kind_of
from agent.attachments.pdf import PdfUnreadable, pdf_text
from agent.events import Attachment

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 8 * 1024 * 1024
    max_chars: int = 20_000
    per_message: int = 5
    pdf_pages: int = 50
    pdf_memory_mb: int = 512
    seconds: float = 30.0


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{max(1, round(n / 1024))} KB"


def not_read(attachment: Attachment, why: str) -> Attachment:
    return attachment.model_copy(update={"note": f"[attachment: {attachment.filename} (not read: {why})]"})


def unread(attachment: Attachment) -> bool:
    """A file that could be read and has not been yet."""
    return (
        kind_of(attachment) is not None
        and attachment.url is not None
        and attachment.text is None
        and not attachment.note
    )


async def read_attachment(attachment: Attachment, limits: Limits) -> Attachment:
    """The attachment with `text` (what was read) and `note` (cut, or why not read) filled in."""
    kind = kind_of(attachment)
    if kind is None or attachment.url is None:
        return attachment
    import aiohttp  # with the first file to fetch: a run that reads none never loads it (~0.4 s)

    try:
        if kind == "pdf":
            return await _read_pdf(attachment, attachment.url, limits)
        return await _read_text(attachment, attachment.url, limits)
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        log.warning("attachment %s not downloaded: %s", attachment.filename.rsplit(".", 1)[-1], type(exc).__name__)
        return not_read(attachment, "it could not be downloaded")


async def _read_text(attachment: Attachment, url: str, limits: Limits) -> Attachment:
    # The whole file up to the byte cap, so the note can say how much the model did not read.
    data, complete = await fetch_head(url, limits.max_bytes, limits.seconds)
    try:
        text, _encoding = decode_text(data, declared=declared_charset(attachment), complete=complete)
    except NotText:
        return not_read(attachment, "not a text file")
    text = text.lstrip("\ufeff")
    total = len(text)
    note = None
    if total > limits.max_chars or not complete:
        text = text[: limits.max_chars]
        if complete:
            note = f"[{attachment.filename}: first {len(text):,} of {total:,} characters]"
        else:
            note = f"[{attachment.filename}: first {len(text):,} characters of a {_size(attachment.size)} file]"
    return attachment.model_copy(update={"text": text, "note": note})


async def _read_pdf(attachment: Attachment, url: str, limits: Limits) -> Attachment:
    if attachment.size > limits.max_bytes:
        return not_read(attachment, f"{_size(attachment.size)} is over the {_size(limits.max_bytes)} limit")
    try:
        data = await fetch_whole(url, limits.max_bytes, limits.seconds)
    except TooLarge:
        return not_read(attachment, f"it is over the {_size(limits.max_bytes)} limit")
    try:
        pdf = await pdf_text(
            data,
            max_pages=limits.pdf_pages,
            max_chars=limits.max_chars,
            memory_mb=limits.pdf_memory_mb,
            timeout_s=limits.seconds,
        )
    except PdfUnreadable as exc:
        return not_read(attachment, str(exc))
    if not pdf.text.strip():
        return not_read(attachment, "no text in it (scanned pages?)")
    note = None
    if pdf.cut:
        pages = f"pages 1-{pdf.pages_read} of {pdf.pages}"
        note = f"[{attachment.filename}: first {len(pdf.text):,} characters, {pages}]"
    return attachment.model_copy(update={"text": pdf.text, "note": note})
