"""Text files and PDFs members attach: decoded in their own charset, read within the caps, binary files
named only, pathological PDFs refused without hurting the bot."""

from __future__ import annotations

import codecs
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from agent.attachments.decode import NotText, decode_text
from agent.attachments.kinds import kind_of
from agent.attachments.pdf import PdfUnreadable, pdf_text
from agent.attachments.read import Limits, read_attachment
from agent.events import Attachment, Event
from tests.pdfs import make_pdf

JAPANESE = "こんにちは。明日の会議は十時からです。資料を読んでおいてください。よろしくお願いします。"
RUSSIAN = "Привет! Завтра встреча в десять часов. Пожалуйста, прочитайте документы заранее. Спасибо."


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (JAPANESE.encode("shift_jis"), JAPANESE),
        (RUSSIAN.encode("cp1251"), RUSSIAN),
        (codecs.BOM_UTF16_LE + "Hello, wörld — ünïcode".encode("utf-16-le"), "Hello, wörld — ünïcode"),
        (codecs.BOM_UTF16_BE + JAPANESE.encode("utf-16-be"), JAPANESE),
        (("日本語 and English, ok? " * 3).encode("utf-8"), "日本語 and English, ok? " * 3),
        (codecs.BOM_UTF8 + b"with a BOM", "with a BOM"),
    ],
    ids=["shift_jis", "cp1251", "utf16le-bom", "utf16be-bom", "utf8", "utf8-bom"],
)
def test_charsets_are_detected(data: bytes, text: str) -> None:
    assert decode_text(data)[0].lstrip("\ufeff") == text


def test_a_download_cut_inside_a_character_loses_only_that_character() -> None:
    data = JAPANESE.encode("utf-8")
    cut = data[: len(data) - 1]
    assert decode_text(cut, complete=False)[0] == JAPANESE[:-1]


@pytest.mark.parametrize(
    "data",
    [b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, b"PK\x03\x04" + bytes(range(256)) * 8],
    ids=["png", "zip"],
)
def test_binary_is_not_text(data: bytes) -> None:
    with pytest.raises(NotText):
        decode_text(data)


@pytest.mark.parametrize(
    ("filename", "content_type", "kind"),
    [
        ("message.txt", "text/plain; charset=utf-8", "text"),
        ("main.py", "application/octet-stream", "text"),
        ("data.json", "application/json", "text"),
        ("table.csv", None, "text"),
        ("server.log", None, "text"),
        ("notes.md", "text/markdown", "text"),
        ("Dockerfile", None, "text"),
        ("paper.pdf", "application/pdf", "pdf"),
        ("photo.png", "image/png", None),
        ("song.mp3", "audio/mpeg", None),
        ("archive.zip", "application/zip", None),
        ("program.exe", "application/x-msdownload", None),
    ],
)
def test_which_files_are_read(filename: str, content_type: str | None, kind: str | None) -> None:
    assert kind_of(Attachment(filename=filename, content_type=content_type)) == kind


async def test_a_pdf_is_read_page_by_page_within_the_caps() -> None:
    pdf = make_pdf(["The ferry leaves at eight.", "Tickets cost five coins.", "Third page."])
    read = await pdf_text(pdf, max_pages=2, max_chars=10_000, memory_mb=512, timeout_s=120)
    assert "ferry leaves at eight" in read.text and "five coins" in read.text and "Third" not in read.text
    assert (read.pages_read, read.pages, read.cut) == (2, 3, True)


@pytest.mark.parametrize("pdf", [b"%PDF-1.4\nnot really a pdf", b"hello"], ids=["truncated", "garbage"])
async def test_a_broken_pdf_says_so(pdf: bytes) -> None:
    with pytest.raises(PdfUnreadable):
        await pdf_text(pdf, max_pages=5, max_chars=1000, memory_mb=512, timeout_s=120)


async def test_a_decompression_bomb_is_refused_within_the_memory_cap() -> None:
    """2 GB of spaces in a 2 MB content stream: the child reader stops (its limit, its memory cap or
    its time), the bot's process never inflates it."""
    bomb = make_pdf(["boom"], bomb_bytes=2 << 30)
    with pytest.raises(PdfUnreadable):
        await pdf_text(bomb, max_pages=5, max_chars=1000, memory_mb=256, timeout_s=120)


# ----- reading attachments from a URL, as from Discord's CDN -----


@pytest.fixture
async def cdn() -> AsyncIterator[tuple[str, dict[str, bytes], list[str]]]:
    files: dict[str, bytes] = {}
    hits: list[str] = []

    async def serve(request: web.Request) -> web.Response:
        hits.append(request.match_info["name"])
        return web.Response(body=files[request.match_info["name"]], content_type="application/octet-stream")

    app = web.Application()
    app.router.add_get("/{name}", serve)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}", files, hits
    await runner.cleanup()


def _attachment(base: str, files: dict[str, bytes], name: str, data: bytes, ctype: str | None) -> Attachment:
    files[name] = data
    return Attachment(filename=name, content_type=ctype, size=len(data), url=f"{base}/{name}")


async def test_a_long_paste_is_cut_with_a_note_the_model_reads(cdn) -> None:
    base, files, _ = cdn
    paste = "".join(f"line {i}: the quick brown fox\n" for i in range(3000))
    attachment = _attachment(base, files, "message.txt", paste.encode(), "text/plain; charset=utf-8")
    read = await read_attachment(attachment, Limits(max_chars=1000))
    assert read.text == paste[:1000]
    assert read.note == f"[message.txt: first 1,000 of {len(paste):,} characters]"
    event = Event(message_id=1, channel_id=1, author_id=1, author_name="a", attachments=[read])
    shown = event.describe_attachments()
    assert "line 0: the quick brown fox" in shown and read.note in shown and "[end of message.txt]" in shown


async def test_a_file_larger_than_the_download_cap_is_read_from_its_start(cdn) -> None:
    base, files, _ = cdn
    log = ("2026-11-29 ERROR disk full on /var\n" * 20_000).encode()
    attachment = _attachment(base, files, "server.log", log, None)
    read = await read_attachment(attachment, Limits(max_bytes=4096, max_chars=100_000))
    assert read.text is not None and read.text.startswith("2026-11-29 ERROR disk full") and len(read.text) <= 4096
    assert read.note is not None and read.note.startswith("[server.log: first ") and "KB file]" in read.note


async def test_binary_and_unreachable_files_are_named_not_read(cdn) -> None:
    base, files, _ = cdn
    binary = _attachment(base, files, "blob.txt", b"\x00\x01\x02\xff" * 500, "text/plain")
    read = await read_attachment(binary, Limits())
    assert read.text is None and read.note == "[attachment: blob.txt (not read: not a text file)]"
    missing = Attachment(filename="gone.txt", content_type="text/plain", url=f"{base}/nothing-here")
    read = await read_attachment(missing, Limits())
    assert read.text is None and read.note == "[attachment: gone.txt (not read: it could not be downloaded)]"
    local = Attachment(filename="passwd.txt", content_type="text/plain", url="file:///etc/passwd")
    read = await read_attachment(local, Limits())
    assert read.text is None and "could not be downloaded" in (read.note or "")
    image = _attachment(base, files, "cat.png", b"\x89PNG....", "image/png")
    assert (await read_attachment(image, Limits())) == image


async def test_a_pdf_over_the_byte_cap_is_not_downloaded(cdn) -> None:
    base, files, hits = cdn
    pdf = _attachment(base, files, "big.pdf", make_pdf(["x"]), "application/pdf")
    read = await read_attachment(pdf, Limits(max_bytes=100))
    assert read.text is None and "over the" in (read.note or "") and hits == []
