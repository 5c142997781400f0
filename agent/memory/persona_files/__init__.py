"""Reading persona files, SillyTavern character cards and knowledge documents.

Everything here is pure parsing: a file in, a `PersonaCard` or `KnowledgeDoc` out, or a
`PersonaFileError` naming the file and the field. Nothing is stored until every file parses.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from agent.memory.chunks import split_paragraphs
from agent.memory.persona_files.cards import (
    KnowledgeDoc,
    LoreEntry,
    PersonaCard,
    PersonaFileError,
    card_from_mapping,
    fail,
)
from agent.memory.persona_files.front_matter import split_front_matter
from agent.memory.persona_files.png import card_from_png
from agent.memory.persona_files.tavern import card_from_tavern

__all__ = [
    "KNOWLEDGE_SUFFIXES",
    "PERSONA_SUFFIXES",
    "KnowledgeDoc",
    "LoreEntry",
    "PersonaCard",
    "PersonaFileError",
    "collect_files",
    "read_persona_or_knowledge",
]

PERSONA_SUFFIXES = {".toml", ".json", ".png"}
KNOWLEDGE_SUFFIXES = {".md", ".markdown", ".txt", ".pdf"}


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
        raise fail(path, "file", "is not UTF-8 text") from None
    if suffix == ".toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise fail(path, "toml", str(exc)) from None
        return card_from_mapping(data, path)
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise fail(path, "json", f"{exc.msg} at line {exc.lineno}") from None
        return card_from_tavern(data, path)
    if suffix in (".md", ".markdown"):
        front, body = split_front_matter(text, path)
        if front is not None and "name" in front:
            return card_from_mapping({"description": body, **front}, path)
        return KnowledgeDoc(str(path), split_paragraphs(body if front is not None else text))
    if suffix == ".txt":
        return KnowledgeDoc(str(path), split_paragraphs(text))
    raise fail(path, "file", f"unsupported type {suffix or '(none)'}; use .toml .md .json .png .txt or .pdf")


def _pdf_chunks(path: Path) -> list[str]:
    from langchain_community.document_loaders import PyPDFLoader

    try:
        pages = PyPDFLoader(str(path)).load()
    except Exception as exc:  # pypdf raises many types for damaged files
        raise fail(path, "pdf", f"cannot be read ({type(exc).__name__}: {exc})") from None
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
