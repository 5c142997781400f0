"""A persona card, World Info book or document uploaded by a server's manager (`/persona add`,
`/dataset add`, the dashboard's Knowledge page): one size limit, one file-name rule, the same refusals
and the same ingest, wherever the file came from."""

from __future__ import annotations

import asyncio
import re
import tempfile
import unicodedata
from pathlib import Path

from agent.member_texts import persona_file_added
from agent.memory.ingest import ingest_path
from agent.memory.knowledge import MemoryStore
from agent.memory.persona_files import KNOWLEDGE_SUFFIXES, PERSONA_SUFFIXES, FileLimits, PersonaFileError
from agent.memory.personas import PersonaCatalog

MAX_UPLOAD_BYTES = 8 * 1024 * 1024
# What each kind of upload takes: persona cards (and Markdown personas, World Info) or documents.
PERSONA_UPLOADS = frozenset(PERSONA_SUFFIXES | {".md"})
DOCUMENT_UPLOADS = frozenset(KNOWLEDGE_SUFFIXES)
# Uploads are stored under one label per file name ("discord:" for those stored before the dashboard
# could upload too), so the same file uploaded again, from either place, replaces itself.
LABEL_PREFIX = "discord:"


def safe_filename(name: str) -> str:
    """Only the base name, only harmless characters: an upload never picks a path. NFC first (macOS
    sends names decomposed: "São" would become two uploads), and a long name is cut before its
    extension, which says what kind of file it is."""
    base = Path(unicodedata.normalize("NFC", name).replace("\\", "/")).name
    cleaned = re.sub(r"[^\w.\-]", "_", base).lstrip(".")
    stem, dot, suffix = cleaned.rpartition(".")
    if dot and stem and len(suffix) <= 10:
        return f"{stem[: 100 - len(suffix) - 1]}.{suffix}"
    return cleaned[:100] or "upload"


def too_large(name: str, size: int) -> str:
    return f"{name} is {size:,} bytes, over the {MAX_UPLOAD_BYTES // 1024 // 1024} MB limit."


def refusal(name: str, size: int, allowed: frozenset[str] | set[str]) -> str | None:
    """Why this upload is not even read (its kind, its size), or None. `name` as `safe_filename` made it."""
    if Path(name).suffix.lower() not in allowed:
        return f"{name}: use one of {', '.join(sorted(allowed))}."
    if size > MAX_UPLOAD_BYTES:
        return too_large(name, size)
    if size == 0:
        return f"{name} is empty; nothing was added."
    return None


async def ingest_upload(
    personas: PersonaCatalog,
    memory: MemoryStore,
    limits: FileLimits,
    name: str,
    data: bytes,
    *,
    scope: str,
    persona: str | None = None,
    channel: int | None = None,
) -> str:
    """Ingest an upload that passed `refusal`, into `scope`; what to tell whoever uploaded it."""
    with tempfile.TemporaryDirectory(prefix="observer-upload-") as tmp:
        path = Path(tmp) / name
        await asyncio.to_thread(path.write_bytes, data)
        try:
            report = await ingest_path(
                personas,
                memory,
                path,
                scope=scope,
                persona=persona,
                label=LABEL_PREFIX + name,
                channel=channel,
                limits=limits,
            )
        except PersonaFileError as exc:
            return f"Nothing was added. {exc}"
    return persona_file_added(name, report.summary(), report.warnings)
