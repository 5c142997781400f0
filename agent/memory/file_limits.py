"""Caps on what one persona file, card, World Info book or document may hold.

Every decode is bounded before it allocates: a file's size is checked before it is read, a PNG
text chunk is inflated at most to its cap, a card's fields and lorebook are counted before they
are kept, a PDF's pages and text are counted while they are extracted. A file over a cap is refused
with one line naming the field and the cap (and the setting that raises it).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from agent.errors import ConfigError

if TYPE_CHECKING:
    from agent.settings import Settings


class PersonaFileError(ConfigError):
    """A persona file, card or document that cannot be read; the message names the file and field."""


def fail(path: Path | str, fieldname: str, problem: str) -> PersonaFileError:
    return PersonaFileError(f"{path}: {fieldname}: {problem}")


@dataclass(frozen=True)
class FileLimits:
    # Any persona, card or document file (PNG image included), checked before reading it.
    file_bytes: int = 16 * 1024 * 1024
    # A text file (JSON, TOML, Markdown, plain text) is parsed whole, and parsing costs many times its
    # size (a JSON of `{}` entries: ~27x), so it has its own, lower cap (Discord's upload limit).
    text_file_bytes: int = 8 * 1024 * 1024
    # The text a PNG may carry (all tEXt/zTXt/iTXt chunks together, inflated), and how many chunks it has.
    png_text_bytes: int = 4 * 1024 * 1024
    png_chunks: int = 1000
    # One card field (description, personality, scenario, examples, one lore entry's content).
    field_chars: int = 60_000
    # A lorebook (a card's or a standalone World Info file): entries, and their content altogether.
    lore_entries: int = 2000
    lore_chars: int = 2_000_000
    # A knowledge document: PDF pages, and the text of any document (PDF, Markdown, plain text).
    pdf_pages: int = 500
    document_chars: int = 2_000_000

    @classmethod
    def from_settings(cls, settings: Settings) -> FileLimits:
        return cls(
            file_bytes=settings.persona_file_max_bytes,
            text_file_bytes=settings.persona_text_file_max_bytes,
            png_text_bytes=settings.card_png_text_max_bytes,
            png_chunks=settings.card_png_max_chunks,
            field_chars=settings.card_field_max_chars,
            lore_entries=settings.lore_max_entries,
            lore_chars=settings.lore_max_chars,
            pdf_pages=settings.document_max_pages,
            document_chars=settings.document_max_chars,
        )


DEFAULT_LIMITS = FileLimits()

# The setting behind each cap, named in refusals so an operator knows what to raise.
SETTING = {
    "file_bytes": "OBSERVER_PERSONA_FILE_MAX_BYTES",
    "text_file_bytes": "OBSERVER_PERSONA_TEXT_FILE_MAX_BYTES",
    "png_text_bytes": "OBSERVER_CARD_PNG_TEXT_MAX_BYTES",
    "png_chunks": "OBSERVER_CARD_PNG_MAX_CHUNKS",
    "field_chars": "OBSERVER_CARD_FIELD_MAX_CHARS",
    "lore_entries": "OBSERVER_LORE_MAX_ENTRIES",
    "lore_chars": "OBSERVER_LORE_MAX_CHARS",
    "pdf_pages": "OBSERVER_DOCUMENT_MAX_PAGES",
    "document_chars": "OBSERVER_DOCUMENT_MAX_CHARS",
}


def over(limits: FileLimits, cap: str, what: str) -> str:
    """The refusal's text: '... is over the limit of N <unit> (OBSERVER_...)'."""
    return f"{what} is over the limit of {getattr(limits, cap):,} ({SETTING[cap]})"


def too_deep() -> str:
    """The refusal for JSON, TOML or YAML nested deeper than Python's readers can follow (they recurse)."""
    return f"is nested too deeply (more than about {sys.getrecursionlimit():,} levels, Python's recursion limit)"


# Files read whole as text and parsed (everything but PNG images and PDFs).
TEXT_SUFFIXES = {".json", ".toml", ".md", ".markdown", ".txt"}


def checked_size(path: Path, limits: FileLimits) -> int:
    """The file's size, refused before reading when it is over the cap (the text cap for text files)."""
    size = path.stat().st_size
    if size > limits.file_bytes:
        raise fail(path, "file", over(limits, "file_bytes", f"{size:,} bytes"))
    if path.suffix.lower() in TEXT_SUFFIXES and size > limits.text_file_bytes:
        raise fail(path, "file", over(limits, "text_file_bytes", f"{size:,} bytes of text"))
    return size
