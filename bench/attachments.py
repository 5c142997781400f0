"""Attachments: reading a PDF and a decompression bomb (peak memory of the bounded reader), decoding text.

Prints figures; never fails on time.  .venv/bin/python -m bench.attachments"""

from __future__ import annotations

import asyncio
import resource
import time

from agent.attachments.decode import decode_text
from agent.attachments.pdf import PdfUnreadable, pdf_text
from tests.pdfs import make_pdf


def _children_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


async def main() -> None:
    pdf = make_pdf([f"Page {i}: the ferry leaves at eight, tickets cost five coins." for i in range(20)])
    started = time.perf_counter()
    read = await pdf_text(pdf, max_pages=50, max_chars=20_000, memory_mb=512, timeout_s=120)
    print(
        f"20-page PDF: {len(read.text):,} characters in {time.perf_counter() - started:.2f} s "
        f"(child process, start-up included); reader peak RSS {_children_peak_mb():.0f} MB"
    )
    for label, bomb in (
        ("2 GB in one content stream", make_pdf(["boom"], bomb_bytes=2 << 30)),
        (
            "12 pages x 70 MB (each under pypdf's per-stream limit)",
            make_pdf([f"p{i}" for i in range(12)], bomb_bytes=70 << 20, bomb_every_page=True),
        ),
    ):
        started = time.perf_counter()
        try:
            await pdf_text(bomb, max_pages=50, max_chars=20_000, memory_mb=512, timeout_s=30)
            outcome = "read"
        except PdfUnreadable as exc:
            outcome = f"refused: {exc}"
        print(
            f"bomb, {label}: {len(bomb) / 1024:.0f} KB file, {outcome}, after {time.perf_counter() - started:.1f} s; "
            f"reader peak RSS so far {_children_peak_mb():.0f} MB (cap 512 MB)"
        )
    text = ("こんにちは。明日の会議は十時からです。" * 1000).encode("shift_jis")
    started = time.perf_counter()
    decode_text(text)
    print(
        f"Shift_JIS text, {len(text) / 1024:.0f} KB: detected and decoded in {(time.perf_counter() - started) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    asyncio.run(main())
