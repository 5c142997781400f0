"""Character cards embedded in a PNG (SillyTavern: a base64 JSON `chara` or `ccv3` text chunk)."""

from __future__ import annotations

import base64
import binascii
import json
import struct
import zlib
from pathlib import Path

from agent.memory.persona_files.cards import PersonaCard, fail
from agent.memory.persona_files.tavern import card_from_tavern

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_text_chunks(blob: bytes, path: Path) -> dict[str, str]:
    """tEXt/zTXt/iTXt chunks of a PNG (where character cards keep their JSON)."""
    if not blob.startswith(_PNG_SIGNATURE):
        raise fail(path, "file", "is not a PNG image")
    chunks: dict[str, str] = {}
    pos = len(_PNG_SIGNATURE)
    while pos + 8 <= len(blob):
        (length,) = struct.unpack(">I", blob[pos : pos + 4])
        kind = blob[pos + 4 : pos + 8]
        data = blob[pos + 8 : pos + 8 + length]
        if len(data) < length:
            raise fail(path, f"PNG chunk {kind.decode('latin-1')}", "is cut short (truncated file)")
        pos += 12 + length
        try:
            if kind == b"tEXt":
                key, _, value = data.partition(b"\0")
                chunks[key.decode("latin-1")] = value.decode("latin-1")
            elif kind == b"zTXt":
                key, _, rest = data.partition(b"\0")
                chunks[key.decode("latin-1")] = zlib.decompress(rest[1:]).decode("latin-1")
            elif kind == b"iTXt":
                key, _, rest = data.partition(b"\0")
                compressed, rest = rest[0], rest[2:]
                _lang, _, rest = rest.partition(b"\0")
                _translated, _, value = rest.partition(b"\0")
                chunks[key.decode("latin-1")] = (zlib.decompress(value) if compressed else value).decode("utf-8")
        except (zlib.error, UnicodeDecodeError, IndexError):
            raise fail(path, f"PNG chunk {kind.decode('latin-1')}", "cannot be decoded") from None
        if kind == b"IEND":
            break
    return chunks


def card_from_png(blob: bytes, path: Path) -> PersonaCard:
    chunks = png_text_chunks(blob, path)
    key = "ccv3" if "ccv3" in chunks else "chara" if "chara" in chunks else None
    if key is None:
        raise fail(path, "chara", "no character card in this PNG (no `chara` or `ccv3` text chunk)")
    try:
        data = json.loads(base64.b64decode(chunks[key], validate=False).decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise fail(path, key, f"is not base64-encoded JSON ({exc})") from None
    card = card_from_tavern(data, path)
    card.avatar = blob  # the card's picture is the character's face on Discord
    return card
