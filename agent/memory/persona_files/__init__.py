"""Reading persona files, SillyTavern character cards and knowledge documents.

Everything here is pure parsing: a file in, a `PersonaCard` or `KnowledgeDoc` out, or a
`PersonaFileError` naming the file and the field. Nothing is stored until every file parses.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from agent.memory.chunks import split_paragraphs
from agent.memory.file_limits import (
    DEFAULT_LIMITS,
    FileLimits,
    PersonaFileError,
    checked_size,
    fail,
    over,
    too_deep,
)
from agent.memory.persona_files.cards import (
    KnowledgeDoc,
    LoreEntry,
    PersonaCard,
    WorldBook,
    card_from_mapping,
)
from agent.memory.persona_files.front_matter import split_front_matter
from agent.memory.persona_files.png import card_from_png
from agent.memory.persona_files.tavern import card_from_tavern
from agent.memory.world_info.books import is_world_book, read_entries

__all__ = [
    "DEFAULT_LIMITS",
    "KNOWLEDGE_SUFFIXES",
    "PERSONA_SUFFIXES",
    "EmptyDocument",
    "FileLimits",
    "KnowledgeDoc",
    "LoreEntry",
    "Parsed",
    "PersonaCard",
    "PersonaFileError",
    "WorldBook",
    "collect_files",
    "read_persona_or_knowledge",
]

PERSONA_SUFFIXES = {".toml", ".json", ".png"}
KNOWLEDGE_SUFFIXES = {".md", ".markdown", ".txt", ".pdf"}


Parsed = PersonaCard | KnowledgeDoc | WorldBook


class EmptyDocument(PersonaFileError):
    """A knowledge document with nothing to remember: refused alone; in a folder, skipped with a warning
    (its earlier chunks go, as a removed file's do)."""


def read_persona_or_knowledge(path: Path, limits: FileLimits = DEFAULT_LIMITS) -> Parsed:
    """One file: a persona (TOML, front-matter Markdown, card JSON or PNG), a SillyTavern World Info
    file, or a knowledge document. Refused before reading when it is over the size cap."""
    suffix = path.suffix.lower()
    checked_size(path, limits)
    if suffix == ".png":
        return card_from_png(path.read_bytes(), path, limits)
    if suffix == ".pdf":
        return KnowledgeDoc(str(path), _pdf_chunks(path, limits))
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise fail(path, "file", "is not UTF-8 text") from None
    if suffix == ".toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise fail(path, "toml", str(exc)) from None
        except RecursionError:
            raise fail(path, "toml", too_deep()) from None
        return card_from_mapping(data, path, limits)
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise fail(path, "json", f"{exc.msg} at line {exc.lineno}") from None
        except RecursionError:
            raise fail(path, "json", too_deep()) from None
        if is_world_book(data):
            warnings: list[str] = []
            return WorldBook(str(path), read_entries(data, path, "entries", limits, warnings), warnings)
        return card_from_tavern(data, path, limits)
    if suffix in (".md", ".markdown"):
        front, body = split_front_matter(text, path)
        if front is not None and "name" in front:
            return card_from_mapping({"description": body, **front}, path, limits)
        return KnowledgeDoc(str(path), _text_chunks(body if front is not None else text, path, limits))
    if suffix == ".txt":
        return KnowledgeDoc(str(path), _text_chunks(text, path, limits))
    raise fail(path, "file", f"unsupported type {suffix or '(none)'}; use .toml .md .json .png .txt or .pdf")


def _text_chunks(text: str, path: Path, limits: FileLimits) -> list[str]:
    if len(text) > limits.document_chars:
        raise fail(path, "text", over(limits, "document_chars", f"{len(text):,} characters"))
    chunks = split_paragraphs(text)
    if not chunks:
        raise EmptyDocument(f"{path}: text: is empty: there is nothing to remember (add text, or remove the file)")
    return chunks


def _pdf_chunks(path: Path, limits: FileLimits) -> list[str]:
    """Page by page, counting pages before extracting and text while extracting."""
    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError

    try:
        reader = PdfReader(str(path))
        count = len(reader.pages)
    except Exception as exc:  # pypdf raises many types for damaged files
        raise fail(path, "pdf", f"cannot be read ({type(exc).__name__})") from None
    if count > limits.pdf_pages:
        raise fail(path, "pdf", over(limits, "pdf_pages", f"{count:,} pages"))
    chunks: list[str] = []
    total = 0
    for number, page in enumerate(reader.pages, start=1):
        try:
            text = page.extract_text() or ""
        except LimitReachedError:
            raise fail(
                path, f"pdf page {number}", "inflates past the PDF reader's own limit (a decompression bomb?)"
            ) from None
        except Exception as exc:  # pypdf raises many types for damaged files
            raise fail(path, f"pdf page {number}", f"cannot be read ({type(exc).__name__})") from None
        total += len(text)
        if total > limits.document_chars:
            raise fail(path, "pdf", over(limits, "document_chars", f"the text of its first {number} pages"))
        chunks.extend(split_paragraphs(text))
    if not chunks:
        raise EmptyDocument(f"{path}: pdf: has no text to read (scanned pages are images: run them through OCR first)")
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
