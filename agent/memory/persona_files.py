"""Reading persona files, SillyTavern character cards and knowledge documents.

Everything here is pure parsing: a file in, a `PersonaCard` or `KnowledgeDoc` out, or a
`PersonaFileError` naming the file and the field. Nothing is stored until every file parses.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import struct
import tomllib
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agent.errors import ConfigError
from agent.memory.chunks import split_paragraphs

PERSONA_SUFFIXES = {".toml", ".json", ".png"}
KNOWLEDGE_SUFFIXES = {".md", ".markdown", ".txt", ".pdf"}
_NAME = re.compile(r"^[\w][\w .'-]{0,47}$")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class PersonaFileError(ConfigError):
    """A persona file, card or document that cannot be read; the message names the file and field."""


@dataclass
class LoreEntry:
    text: str
    keywords: list[str] = field(default_factory=list)


@dataclass
class PersonaCard:
    name: str
    description: str
    style: str = ""
    examples: list[str] = field(default_factory=list)
    lore: list[LoreEntry] = field(default_factory=list)
    source: str = ""

    def prompt_text(self) -> str:
        """What the system prompt says about who the bot is."""
        parts = [self.description.strip()]
        if self.style.strip():
            parts.append(f"Speaking style: {self.style.strip()}")
        if self.examples:
            parts.append("Example exchanges:\n" + "\n---\n".join(e.strip() for e in self.examples))
        return "\n\n".join(p for p in parts if p)


@dataclass
class KnowledgeDoc:
    source: str
    chunks: list[str]


def _fail(path: Path | str, fieldname: str, problem: str) -> PersonaFileError:
    return PersonaFileError(f"{path}: {fieldname}: {problem}")


def _text(data: dict[str, Any], key: str, path: Path, *, required: bool = False) -> str:
    value = data.get(key, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise _fail(path, key, f"must be text, got {type(value).__name__}")
    if required and not value.strip():
        raise _fail(path, key, "is missing or empty")
    return value.strip()


def _examples(data: dict[str, Any], path: Path) -> list[str]:
    raw = data.get("examples", [])
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        raise _fail(path, "examples", "must be a list of example dialogues")
    out: list[str] = []
    for i, item in enumerate(raw):
        if isinstance(item, str):
            out.append(item.strip())
        elif isinstance(item, dict) and isinstance(item.get("user"), str) and isinstance(item.get("bot"), str):
            out.append(f"User: {item['user'].strip()}\n{{char}}: {item['bot'].strip()}")
        else:
            raise _fail(path, f"examples[{i}]", "must be text or a table with `user` and `bot`")
    return [e for e in out if e]


def _lore(data: dict[str, Any], path: Path) -> list[LoreEntry]:
    raw = data.get("lore", [])
    if not isinstance(raw, list):
        raise _fail(path, "lore", "must be a list of entries with `text` and optional `keywords`")
    entries: list[LoreEntry] = []
    for i, item in enumerate(raw):
        where = f"lore[{i}]"
        if isinstance(item, str):
            item = {"text": item}
        if not isinstance(item, dict):
            raise _fail(path, where, "must be a table with `text` and optional `keywords`")
        text = item.get("text")
        if not isinstance(text, str) or not text.strip():
            raise _fail(path, f"{where}.text", "is missing or empty")
        keywords = item.get("keywords", [])
        if isinstance(keywords, str):
            keywords = [k for k in keywords.split(",")]
        if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
            raise _fail(path, f"{where}.keywords", "must be a list of words")
        entries.append(LoreEntry(text.strip(), [k.strip() for k in keywords if k.strip()]))
    return entries


def card_from_mapping(data: dict[str, Any], path: Path) -> PersonaCard:
    """Our own persona format (TOML, or Markdown front matter whose body is the description)."""
    unknown = set(data) - {"name", "description", "style", "examples", "lore"}
    if unknown:
        raise _fail(path, sorted(unknown)[0], "unknown field; use name, description, style, examples, lore")
    name = _text(data, "name", path, required=True)
    if not _NAME.match(name):
        raise _fail(path, "name", f"{name!r} must be 1-48 letters, digits, spaces, . ' - or _")
    card = PersonaCard(
        name=name,
        description=_text(data, "description", path, required=True),
        style=_text(data, "style", path),
        examples=_examples(data, path),
        lore=_lore(data, path),
        source=str(path),
    )
    return _fill_names(card)


def _fill_names(card: PersonaCard) -> PersonaCard:
    """SillyTavern's {{char}} / {{user}} macros (also accepted in our own files)."""

    def fill(text: str) -> str:
        text = re.sub(r"\{\{\s*char\s*\}\}|\{char\}", card.name, text, flags=re.IGNORECASE)
        return re.sub(r"\{\{\s*user\s*\}\}", "User", text, flags=re.IGNORECASE)

    card.description = fill(card.description)
    card.style = fill(card.style)
    card.examples = [fill(e) for e in card.examples]
    for entry in card.lore:
        entry.text = fill(entry.text)
    return card


def split_front_matter(text: str, path: Path) -> tuple[dict[str, Any] | None, str]:
    """YAML (`---`) or TOML (`+++`) front matter, and the body. None when the file has none."""
    text = text.lstrip("\ufeff")
    for fence, parse in (("---", yaml.safe_load), ("+++", tomllib.loads)):
        if text.startswith(fence + "\n") or text.startswith(fence + "\r\n"):
            end = re.search(rf"^{re.escape(fence)}\s*$", text[len(fence) + 1 :], flags=re.MULTILINE)
            if end is None:
                raise _fail(path, "front matter", f"opened with {fence} but never closed")
            head = text[len(fence) + 1 : len(fence) + 1 + end.start()]
            body = text[len(fence) + 1 + end.end() :]
            try:
                data = parse(head) or {}
            except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
                raise _fail(path, "front matter", str(exc).splitlines()[0]) from None
            if not isinstance(data, dict):
                raise _fail(path, "front matter", "must be a mapping of fields")
            return data, body.strip()
    return None, text


# ----- SillyTavern character cards -----


def png_text_chunks(blob: bytes, path: Path) -> dict[str, str]:
    """tEXt/zTXt/iTXt chunks of a PNG (where character cards keep their JSON)."""
    if not blob.startswith(_PNG_SIGNATURE):
        raise _fail(path, "file", "is not a PNG image")
    chunks: dict[str, str] = {}
    pos = len(_PNG_SIGNATURE)
    while pos + 8 <= len(blob):
        (length,) = struct.unpack(">I", blob[pos : pos + 4])
        kind = blob[pos + 4 : pos + 8]
        data = blob[pos + 8 : pos + 8 + length]
        if len(data) < length:
            raise _fail(path, f"PNG chunk {kind.decode('latin-1')}", "is cut short (truncated file)")
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
            raise _fail(path, f"PNG chunk {kind.decode('latin-1')}", "cannot be decoded") from None
        if kind == b"IEND":
            break
    return chunks


def card_from_png(blob: bytes, path: Path) -> PersonaCard:
    chunks = png_text_chunks(blob, path)
    key = "ccv3" if "ccv3" in chunks else "chara" if "chara" in chunks else None
    if key is None:
        raise _fail(path, "chara", "no character card in this PNG (no `chara` or `ccv3` text chunk)")
    try:
        data = json.loads(base64.b64decode(chunks[key], validate=False).decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _fail(path, key, f"is not base64-encoded JSON ({exc})") from None
    return card_from_tavern(data, path)


def card_from_tavern(data: Any, path: Path) -> PersonaCard:
    """SillyTavern V1 (flat), V2 (`chara_card_v2`) and V3 (`chara_card_v3`) cards, lorebook included."""
    if not isinstance(data, dict):
        raise _fail(path, "card", "must be a JSON object")
    body = data.get("data") if isinstance(data.get("data"), dict) else data
    assert isinstance(body, dict)
    name = _text(body, "name", path, required=True)[:48]
    description = "\n\n".join(
        p for p in (_text(body, "description", path), _text(body, "scenario", path)) if p
    ) or _text(body, "personality", path)
    if not description:
        raise _fail(path, "description", "is missing or empty")
    examples = [e.strip() for e in re.split(r"<START>", _text(body, "mes_example", path), flags=re.I) if e.strip()]
    first = _text(body, "first_mes", path)
    if first:
        examples.insert(0, f"{{{{char}}}}: {first}")
    lore: list[LoreEntry] = []
    book = body.get("character_book") or {}
    entries = book.get("entries", []) if isinstance(book, dict) else None
    if not isinstance(entries, list):
        raise _fail(path, "character_book.entries", "must be a list")
    for i, entry in enumerate(entries):
        where = f"character_book.entries[{i}]"
        if not isinstance(entry, dict):
            raise _fail(path, where, "must be an object")
        if entry.get("enabled") is False:
            continue
        content = entry.get("content")
        if not isinstance(content, str):
            raise _fail(path, f"{where}.content", "must be text")
        if not content.strip():
            continue
        keys = entry.get("keys", [])
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise _fail(path, f"{where}.keys", "must be a list of words")
        # A constant entry always applies in SillyTavern; here it is found by meaning instead.
        keywords = [] if entry.get("constant") else [k.strip() for k in keys if k.strip()]
        lore.append(LoreEntry(content.strip(), keywords))
    card = PersonaCard(
        name=name if _NAME.match(name) else re.sub(r"[^\w .'-]", "", name).strip() or "card",
        description=description,
        style=_text(body, "personality", path) if description != _text(body, "personality", path) else "",
        examples=examples,
        lore=lore,
        source=str(path),
    )
    return _fill_names(card)


# ----- dispatch -----


def read_persona_or_knowledge(path: Path) -> PersonaCard | KnowledgeDoc:
    """One file: a persona (TOML, front-matter Markdown, card JSON or PNG) or a knowledge document."""
    suffix = path.suffix.lower()
    if suffix == ".png":
        return card_from_png(path.read_bytes(), path)
    if suffix == ".pdf":
        return KnowledgeDoc(str(path), _pdf_chunks(path))
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise _fail(path, "file", "is not UTF-8 text") from None
    if suffix == ".toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise _fail(path, "toml", str(exc)) from None
        return card_from_mapping(data, path)
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _fail(path, "json", f"{exc.msg} at line {exc.lineno}") from None
        return card_from_tavern(data, path)
    if suffix in (".md", ".markdown"):
        front, body = split_front_matter(text, path)
        if front is not None and "name" in front:
            return card_from_mapping({"description": body, **front}, path)
        return KnowledgeDoc(str(path), split_paragraphs(body if front is not None else text))
    if suffix == ".txt":
        return KnowledgeDoc(str(path), split_paragraphs(text))
    raise _fail(path, "file", f"unsupported type {suffix or '(none)'}; use .toml .md .json .png .txt or .pdf")


def _pdf_chunks(path: Path) -> list[str]:
    from langchain_community.document_loaders import PyPDFLoader

    try:
        pages = PyPDFLoader(str(path)).load()
    except Exception as exc:  # pypdf raises many types for damaged files
        raise _fail(path, "pdf", f"cannot be read ({type(exc).__name__}: {exc})") from None
    chunks: list[str] = []
    for page in pages:
        chunks.extend(split_paragraphs(page.page_content))
    return chunks


def collect_files(path: Path) -> list[Path]:
    """The readable files under a path, in a stable order; hidden files and folders skipped."""
    if not path.exists():
        raise PersonaFileError(f"{path}: no such file or folder")
    if path.is_file():
        return [path]
    wanted = PERSONA_SUFFIXES | KNOWLEDGE_SUFFIXES
    return sorted(
        p
        for p in path.rglob("*")
        if p.is_file()
        and p.suffix.lower() in wanted
        and not any(part.startswith(".") for part in p.relative_to(path).parts)
    )
