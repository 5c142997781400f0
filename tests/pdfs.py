"""Small PDFs made byte by byte for tests: pages of text, and a decompression bomb in a content stream."""

from __future__ import annotations

import zlib

from tests.fakes.documents import pdf_file


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(pages: list[str], *, bomb_bytes: int = 0, bomb_every_page: bool = False) -> bytes:
    """A valid PDF with one line of Helvetica text per page. `bomb_bytes`: the first page's content
    stream also holds that many spaces, Flate-compressed (a few hundred KB that inflate to gigabytes);
    `bomb_every_page`: every page's does (each under a reader's per-stream limit, together over any)."""
    objects: list[bytes] = []
    n_pages = len(pages)
    font_id = 3 + 2 * n_pages
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(n_pages))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {n_pages} >>".encode())
    for i, text in enumerate(pages):
        content_id = 4 + 2 * i
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {content_id} 0 R "
            f"/Resources << /Font << /F1 {font_id} 0 R >> >> >>".encode()
        )
        stream = f"BT /F1 12 Tf 72 720 Td ({_escape(text)}) Tj ET".encode()
        if bomb_bytes and (i == 0 or bomb_every_page):
            compressor = zlib.compressobj(9)
            chunk = b" " * (1 << 20)
            body = b"".join(compressor.compress(chunk) for _ in range(bomb_bytes >> 20))
            body += compressor.compress(stream) + compressor.flush()
            objects.append(b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(body) + body + b"\nendstream")
        else:
            objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    return pdf_file(objects)
