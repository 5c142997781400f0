"""Building test files byte by byte: a SillyTavern PNG card and a text PDF, as other tools write them."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from typing import Any


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_card(card: dict[str, Any], key: str = "chara") -> bytes:
    """A 1x1 PNG carrying the card as base64 JSON in a tEXt chunk, like SillyTavern exports."""
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x80\x00")
    text = key.encode() + b"\0" + base64.b64encode(json.dumps(card).encode())
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"tEXt", text)
        + _chunk(b"IDAT", pixels)
        + _chunk(b"IEND", b"")
    )


def pdf_file(objects: list[bytes]) -> bytes:
    """A PDF of these numbered objects (the first the catalog), with its cross-reference table."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def text_pdf(lines: list[str]) -> bytes:
    """A one-page PDF with Latin text lines in Helvetica."""
    ops = ["BT", "/F1 12 Tf", "72 720 Td", "14 TL"]
    for line in lines:
        escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        ops.append(f"({escaped}) Tj T*")
    ops.append("ET")
    stream = "\n".join(ops).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    return pdf_file(objects)


def png_with(chunks: list[tuple[bytes, bytes]]) -> bytes:
    """A 1x1 PNG with these extra (kind, data) chunks before its pixels."""
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + b"".join(_chunk(kind, data) for kind, data in chunks)
        + _chunk(b"IDAT", zlib.compress(b"\x00\xff\x80\x00"))
        + _chunk(b"IEND", b"")
    )


def zlib_bomb(inflated_bytes: int) -> bytes:
    """zlib data that inflates to `inflated_bytes` of "A" (about 1,000 times smaller), built in steps."""
    packer = zlib.compressobj(9)
    block = b"A" * (1 << 20)
    parts = []
    for start in range(0, inflated_bytes, len(block)):
        parts.append(packer.compress(block[: min(len(block), inflated_bytes - start)]))
    parts.append(packer.flush())
    return b"".join(parts)


def ztxt_bomb_card(inflated_bytes: int, key: bytes = b"chara") -> bytes:
    """A card PNG whose `chara` zTXt chunk is a zlib bomb."""
    return png_with([(b"zTXt", key + b"\0\0" + zlib_bomb(inflated_bytes))])


def itxt_bomb_card(inflated_bytes: int, key: bytes = b"chara") -> bytes:
    """A card PNG whose `chara` iTXt chunk is compressed and a zlib bomb."""
    return png_with([(b"iTXt", key + b"\0\x01\x00\0\0" + zlib_bomb(inflated_bytes))])


def pdf_pages(count: int, line: str = "A page.") -> bytes:
    """A PDF of `count` pages sharing one content stream."""
    stream = f"BT /F1 12 Tf 72 720 Td ({line}) Tj ET".encode("latin-1")
    kids = " ".join(f"{4 + i} 0 R" for i in range(count))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids.encode() + b"] /Count %d >>" % count,
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R /Resources << /Font << /F1 %d 0 R >> >> >>"
    objects += [page % (4 + count) for _ in range(count)]
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    return pdf_file(objects)


def pdf_stream_bomb(inflated_bytes: int) -> bytes:
    """A one-page PDF whose content stream is a FlateDecode zlib bomb (text drawing repeated)."""
    packer = zlib.compressobj(9)
    op = b"BT /F1 12 Tf 72 720 Td (bomb bomb bomb bomb) Tj ET\n"
    block = op * ((1 << 20) // len(op))
    parts = [packer.compress(block) for _ in range(max(inflated_bytes // len(block), 1))]
    parts.append(packer.flush())
    stream = b"".join(parts)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    return pdf_file(objects)
