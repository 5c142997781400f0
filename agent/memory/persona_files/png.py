"""Character cards embedded in a PNG (SillyTavern: a base64 JSON `chara` or `ccv3` text chunk).

Decoding is bounded: the chunk count, and the text all chunks hold together once inflated, have
caps; a compressed chunk is inflated with `max_length`, so a zlib bomb stops at the cap instead of
filling memory.
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
import zlib
from pathlib import Path

from agent.memory.file_limits import DEFAULT_LIMITS, FileLimits, fail, over, too_deep
from agent.memory.persona_files.cards import PersonaCard
from agent.memory.persona_files.tavern import card_from_tavern

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_TEXT_KINDS = {b"tEXt", b"zTXt", b"iTXt"}


def _inflate(data: bytes, room: int, path: Path, kind: str, limits: FileLimits) -> bytes:
    """zlib data inflated to at most `room` bytes; more than that is refused, not allocated."""
    inflater = zlib.decompressobj()
    out = inflater.decompress(data, room)
    if inflater.unconsumed_tail or (not inflater.eof and inflater.decompress(b"", 1)):
        raise fail(path, f"PNG chunk {kind}", over(limits, "png_text_bytes", "the inflated text"))
    return out


def png_text_chunks(blob: bytes, path: Path, limits: FileLimits = DEFAULT_LIMITS) -> dict[str, str]:
    """tEXt/zTXt/iTXt chunks of a PNG (where character cards keep their JSON)."""
    if not blob.startswith(_PNG_SIGNATURE):
        raise fail(path, "file", "is not a PNG image")
    chunks: dict[str, str] = {}
    pos = len(_PNG_SIGNATURE)
    count = 0
    room = limits.png_text_bytes  # text left before the cap, over every chunk
    while pos + 8 <= len(blob):
        count += 1
        if count > limits.png_chunks:
            raise fail(path, "PNG chunks", over(limits, "png_chunks", f"more than {limits.png_chunks:,} chunks"))
        (length,) = struct.unpack(">I", blob[pos : pos + 4])
        raw_kind = blob[pos + 4 : pos + 8]
        kind = raw_kind.decode("latin-1")
        if len(blob) < pos + 8 + length:
            raise fail(path, f"PNG chunk {kind}", "is cut short (truncated file)")
        if raw_kind == b"tEXt" and length > room:
            raise fail(path, f"PNG chunk {kind}", over(limits, "png_text_bytes", f"{length:,} bytes of text"))
        data = blob[pos + 8 : pos + 8 + length] if raw_kind in _TEXT_KINDS else b""
        pos += 12 + length
        try:
            if raw_kind == b"tEXt":
                key, _, value = data.partition(b"\0")
                chunks[key.decode("latin-1")] = value.decode("latin-1")
                room -= len(value)
            elif raw_kind == b"zTXt":
                key, _, rest = data.partition(b"\0")
                value = _inflate(rest[1:], room, path, kind, limits)
                chunks[key.decode("latin-1")] = value.decode("latin-1")
                room -= len(value)
            elif raw_kind == b"iTXt":
                key, _, rest = data.partition(b"\0")
                compressed, rest = rest[0], rest[2:]
                _lang, _, rest = rest.partition(b"\0")
                _translated, _, value = rest.partition(b"\0")
                if compressed:
                    value = _inflate(value, room, path, kind, limits)
                elif len(value) > room:
                    raise fail(
                        path, f"PNG chunk {kind}", over(limits, "png_text_bytes", f"{len(value):,} bytes of text")
                    )
                chunks[key.decode("latin-1")] = value.decode("utf-8")
                room -= len(value)
        except (zlib.error, UnicodeDecodeError, IndexError):
            raise fail(path, f"PNG chunk {kind}", "cannot be decoded") from None
        if raw_kind == b"IEND":
            break
    return chunks


def card_from_png(blob: bytes, path: Path, limits: FileLimits = DEFAULT_LIMITS) -> PersonaCard:
    chunks = png_text_chunks(blob, path, limits)
    key = "ccv3" if "ccv3" in chunks else "chara" if "chara" in chunks else None
    if key is None:
        raise fail(path, "chara", "no character card in this PNG (no `chara` or `ccv3` text chunk)")
    try:
        data = json.loads(base64.b64decode(chunks[key], validate=False).decode("utf-8"))
    except RecursionError:
        raise fail(path, key, too_deep()) from None
    except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise fail(path, key, f"is not base64-encoded JSON ({type(exc).__name__})") from None
    card = card_from_tavern(data, path, limits)
    card.avatar = blob  # the card's picture is the character's face on Discord
    return card
