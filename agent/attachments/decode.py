"""Bytes of a text file → text: the declared charset when it fits, else detected (charset-normalizer).

UTF-8 (with or without BOM), UTF-16/32 with a BOM, Shift_JIS, CP1251, Latin-1 … A file that is not
text (NUL bytes without a UTF-16/32 BOM, nothing decodes it) is refused, so it is named, not read."""

from __future__ import annotations

import codecs

from charset_normalizer import from_bytes

BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


class NotText(ValueError):
    """The bytes are not text in any encoding worth trusting."""


def _decode(data: bytes, encoding: str, complete: bool) -> str:
    # A cut download may end inside a character: the incremental decoder leaves that tail out.
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    return decoder.decode(data, final=complete)


def decode_text(data: bytes, *, declared: str | None = None, complete: bool = True) -> tuple[str, str]:
    """(text, encoding). `complete`: False when `data` is only the start of the file."""
    if not data:
        return "", "utf-8"
    for bom, encoding in BOMS:
        if data.startswith(bom):
            try:
                return _decode(data, encoding, complete), encoding
            except UnicodeDecodeError:
                break
    if b"\x00" not in data:
        for encoding in filter(None, (declared, "utf-8")):
            try:
                return _decode(data, encoding, complete), codecs.lookup(encoding).name
            except (UnicodeDecodeError, LookupError):
                continue
    # A cut download may end inside a character: detect on what surely holds whole characters.
    best = from_bytes(data if complete else data[: max(len(data) - 4, 1)]).best()
    if best is None or best.encoding is None:
        raise NotText("not text in any known encoding")
    try:
        text = _decode(data, best.encoding, complete)
    except UnicodeDecodeError:
        text = data.decode(best.encoding, errors="replace")
    if "\x00" in text:
        raise NotText("binary data")
    return text, best.encoding
