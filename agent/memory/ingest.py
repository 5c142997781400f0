"""`observer persona ingest` and `/persona add`: files in, persona cards and embedded chunks out.

Every file is parsed before anything is written, so a malformed file stops the whole ingest with
an error naming it and the field, and leaves the store as it was. The sync is by content hash:
the same files twice add nothing, an edited entry replaces the old one, a removed one disappears.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from agent.memory.knowledge import Entry, MemoryStore, Progress
from agent.memory.persona_files import (
    DEFAULT_LIMITS,
    EmptyDocument,
    FileLimits,
    KnowledgeDoc,
    LoreEntry,
    Parsed,
    PersonaCard,
    PersonaFileError,
    WorldBook,
    collect_files,
    read_persona_or_knowledge,
)
from agent.memory.personas import PersonaCatalog
from agent.memory.scopes import GLOBAL
from agent.redact import redact


@dataclass
class IngestReport:
    files: int = 0
    personas: list[str] = field(default_factory=list)
    documents: int = 0
    chunks: int = 0
    added: int = 0
    removed: int = 0
    kept: int = 0
    world_books: int = 0
    # Optional fields read leniently (replaced by their default), one line each naming the file and field.
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        who = ", ".join(self.personas) or "none"
        books = f"{self.world_books} World Info books; " if self.world_books else ""
        return (
            f"{self.files} files: personas {who}; {books}{self.documents} documents; "
            f"{self.chunks} chunks ({self.added} new, {self.kept} unchanged, {self.removed} removed)"
        )


def lore_entries(lore: list[LoreEntry], scope: str, persona: str, source: str, channel: str = "") -> list[Entry]:
    """Lore as stored: its keywords (lowercase, for older readers) and its whole World Info rule."""
    return [
        Entry(
            "lore",
            scope,
            persona,
            source,
            redact(entry.text),
            tuple(sorted({k.lower() for k in entry.keywords})),
            rule=entry.rule.to_json() if entry.rule is not None else "",
            channel=channel,
        )
        for entry in lore
    ]


def card_entries(card: PersonaCard, scope: str, source: str) -> list[Entry]:
    return lore_entries(card.lore, scope, card.name, source)


def doc_entries(doc: KnowledgeDoc, scope: str, persona: str, source: str) -> list[Entry]:
    """A document's chunks as stored. Lore and documents are stored redacted: a key or token pasted into
    one would reach every prompt that retrieves it, and the model may repeat it to members."""
    return [Entry("knowledge", scope, persona, source, redact(chunk)) for chunk in doc.chunks]


def _parse(path: Path, limits: FileLimits) -> tuple[list[Parsed], list[str]]:
    """Every file parsed, and what was skipped: an empty document in a folder is a warning (a placeholder
    file should not stop the sync), an empty file given alone is refused."""
    parsed: list[Parsed] = []
    skipped: list[str] = []
    alone = path.is_file()
    for file in collect_files(path):
        try:
            parsed.append(read_persona_or_knowledge(file, limits))
        except EmptyDocument as exc:
            if alone:
                raise
            skipped.append(f"{exc}; skipped")
    return parsed, skipped


async def ingest_path(
    catalog: PersonaCatalog,
    memory: MemoryStore,
    path: Path,
    *,
    scope: str = GLOBAL,
    persona: str | None = None,
    label: str | None = None,
    progress: Progress | None = None,
    channel: int | None = None,
    limits: FileLimits = DEFAULT_LIMITS,
) -> IngestReport:
    """Sync a file or folder into `scope`. Knowledge and World Info attach to `persona`, else to the
    folder's only persona, else to every persona in the scope; World Info with `channel` applies in
    that channel only. `label` names the source instead of its path (uploads from Discord, whose
    temporary path means nothing)."""
    path = await asyncio.to_thread(path.resolve)
    try:
        parsed, skipped = await asyncio.to_thread(_parse, path, limits)
    except PersonaFileError as exc:
        if label:
            raise PersonaFileError(str(exc).replace(str(path), label)) from None
        raise
    cards = [p for p in parsed if isinstance(p, PersonaCard)]
    docs = [p for p in parsed if isinstance(p, KnowledgeDoc)]
    books = [p for p in parsed if isinstance(p, WorldBook)]
    warnings = [*skipped, *(w for p in parsed if not isinstance(p, KnowledgeDoc) for w in p.warnings)]
    if label:
        warnings = [w.replace(str(path), label) for w in warnings]
    seen: dict[str, str] = {}
    for card in cards:
        if card.name.lower() in seen:
            raise PersonaFileError(
                f"{card.source}: name: {card.name!r} is already defined in {seen[card.name.lower()]}"
            )
        seen[card.name.lower()] = card.source
    target = persona if persona is not None else (cards[0].name if len(cards) == 1 else "")
    if persona is not None and persona.lower() not in seen and await catalog.find(persona, [GLOBAL, scope]) is None:
        raise PersonaFileError(f"--persona: no persona named {persona!r}; ingest its file first or leave it out")

    where = f" (channel {channel})" if channel is not None else ""

    def source_of(original: str) -> str:
        return (label if label else portable_source(path, Path(original))) + where

    entries: list[Entry] = []
    for card in cards:
        entries.extend(card_entries(card, scope, source_of(card.source)))
    for doc in docs:
        entries.extend(doc_entries(doc, scope, target, source_of(doc.source)))
    for book in books:
        entries.extend(lore_entries(book.entries, scope, target, source_of(book.source), str(channel or "")))
    owns = _owner(path, label, where)
    result = await asyncio.to_thread(memory.sync, entries, scope=scope, owns=owns, progress=progress)
    for card in cards:
        card.source = source_of(card.source)
        await catalog.save(card, scope)
    stored = await catalog.listing([scope])
    gone = [p.card.name for p in stored if owns(p.card.source) and p.card.name.lower() not in seen]
    await catalog.remove(scope, gone)
    return IngestReport(
        files=len(parsed),
        personas=[c.name for c in cards],
        documents=len(docs),
        chunks=len(entries),
        added=result.added,
        removed=result.removed,
        kept=result.kept,
        world_books=len(books),
        warnings=warnings,
    )


def portable_source(root: Path, file: Path) -> str:
    """A source name that survives moving the folder: the folder's own name and the path inside it."""
    if root.is_dir():
        return "/".join((root.name, *file.relative_to(root).parts))
    return file.name


def _owner(path: Path, label: str | None, where: str = "") -> Callable[[str], bool]:
    """Which stored sources this ingest speaks for: the file itself, or everything under the folder
    (for one channel: only what was attached to that channel).

    Also the absolute paths earlier versions stored, so their entries are replaced, not kept beside."""
    if label:
        return lambda source: source == label + where
    if path.is_dir():
        prefix = path.name + "/"
        legacy = str(path) + os.sep
        return lambda source: (source.startswith(prefix) or source.startswith(legacy)) and _attached(source, where)
    return lambda source: source in (path.name + where, str(path) + where)


def _attached(source: str, where: str) -> bool:
    """Whether a stored source was attached the same way (to the channel, or to no channel)."""
    return source.endswith(where) if where else not source.endswith(")") or " (channel " not in source
