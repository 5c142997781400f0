"""Persona cards and knowledge documents as Observer keeps them, read from a plain mapping (TOML, front matter)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.memory.file_limits import DEFAULT_LIMITS, FileLimits, fail, over
from agent.memory.persona_files.examples import ExampleTurn, example_turns
from agent.memory.world_info.rules import LoreEntry

NAME_PATTERN = re.compile(r"^[\w][\w .'-]{0,47}$")


@dataclass
class PersonaCard:
    name: str
    description: str
    style: str = ""
    examples: list[str] = field(default_factory=list)
    lore: list[LoreEntry] = field(default_factory=list)
    source: str = ""
    # Group chats (issue I): how readily it speaks up when nobody is named (SillyTavern's field, 0-1),
    # the model it speaks with (a name from the model list; empty: the usual choice), its face (PNG).
    talkativeness: float = 0.5
    model: str = ""
    avatar: bytes | None = None
    # What was read leniently (an empty or malformed optional field replaced by its default), one line each.
    warnings: list[str] = field(default_factory=list, compare=False)

    def prompt_text(self) -> str:
        """What the system prompt says about who the bot is (examples that are dialogue are not here:
        they are `example_turns`)."""
        parts = [self.description.strip()]
        if self.style.strip():
            parts.append(f"Speaking style: {self.style.strip()}")
        prose = [e.strip() for e in self.examples if example_turns(e, self.name) is None]
        if prose:
            parts.append("Example exchanges:\n" + "\n---\n".join(prose))
        return "\n\n".join(p for p in parts if p)

    def example_turns(self) -> list[ExampleTurn]:
        """The examples written as dialogue, as the chat's opening turns (macros not yet filled)."""
        return [turn for e in self.examples for turn in example_turns(e, self.name) or []]


@dataclass
class KnowledgeDoc:
    source: str
    chunks: list[str]


@dataclass
class WorldBook:
    """A standalone SillyTavern World Info file: lore for whichever persona it is attached to."""

    source: str
    entries: list[LoreEntry]
    warnings: list[str] = field(default_factory=list, compare=False)


def capped(path: Path | str, key: str, value: str, limits: FileLimits) -> str:
    """The text, refused when it is longer than one field may be."""
    if len(value) > limits.field_chars:
        raise fail(path, key, over(limits, "field_chars", f"{len(value):,} characters"))
    return value


def text_field(
    data: dict[str, Any], key: str, path: Path, *, required: bool = False, limits: FileLimits = DEFAULT_LIMITS
) -> str:
    value = data.get(key, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise fail(path, key, f"must be text, got {type(value).__name__}")
    if required and not value.strip():
        raise fail(path, key, "is missing or empty")
    return capped(path, key, value, limits).strip()


def _examples(data: dict[str, Any], path: Path, limits: FileLimits) -> list[str]:
    raw = data.get("examples", [])
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        raise fail(path, "examples", "must be a list of example dialogues")
    out: list[str] = []
    for i, item in enumerate(raw):
        if isinstance(item, str):
            out.append(capped(path, f"examples[{i}]", item, limits).strip())
        elif isinstance(item, dict) and isinstance(item.get("user"), str) and isinstance(item.get("bot"), str):
            out.append(f"{{{{user}}}}: {item['user'].strip()}\n{{{{char}}}}: {item['bot'].strip()}")
        else:
            raise fail(path, f"examples[{i}]", "must be text or a table with `user` and `bot`")
    return [e for e in out if e]


def _lore(data: dict[str, Any], path: Path, limits: FileLimits) -> list[LoreEntry]:
    raw = data.get("lore", [])
    if not isinstance(raw, list):
        raise fail(path, "lore", "must be a list of entries with `text` and optional `keywords`")
    if len(raw) > limits.lore_entries:
        raise fail(path, "lore", over(limits, "lore_entries", f"{len(raw):,} entries"))
    entries: list[LoreEntry] = []
    total = 0
    for i, item in enumerate(raw):
        where = f"lore[{i}]"
        if isinstance(item, str):
            item = {"text": item}
        if not isinstance(item, dict):
            raise fail(path, where, "must be a table with `text` and optional `keywords`")
        text = item.get("text")
        if not isinstance(text, str) or not text.strip():
            raise fail(path, f"{where}.text", "is missing or empty")
        capped(path, f"{where}.text", text, limits)
        total += len(text)
        if total > limits.lore_chars:
            raise fail(path, "lore", over(limits, "lore_chars", "the lore's text altogether"))
        keywords = item.get("keywords", [])
        if isinstance(keywords, str):
            keywords = [k for k in keywords.split(",")]
        if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
            raise fail(path, f"{where}.keywords", "must be a list of words")
        entries.append(LoreEntry(text.strip(), [k.strip() for k in keywords if k.strip()]))
    return entries


def card_from_mapping(data: dict[str, Any], path: Path, limits: FileLimits = DEFAULT_LIMITS) -> PersonaCard:
    """Our own persona format (TOML, or Markdown front matter whose body is the description)."""
    known = {"name", "description", "style", "examples", "lore", "talkativeness", "model"}
    unknown = set(data) - known
    if unknown:
        raise fail(path, sorted(unknown)[0], f"unknown field; use {', '.join(sorted(known))}")
    name = text_field(data, "name", path, required=True)
    if not NAME_PATTERN.match(name):
        raise fail(path, "name", f"{name!r} must be 1-48 letters, digits, spaces, . ' - or _")
    card = PersonaCard(
        name=name,
        description=text_field(data, "description", path, required=True, limits=limits),
        style=text_field(data, "style", path, limits=limits),
        examples=_examples(data, path, limits),
        lore=_lore(data, path, limits),
        source=str(path),
        talkativeness=talkativeness_of(data.get("talkativeness", 0.5), path),
        model=text_field(data, "model", path),
    )
    return fill_names(card)


def talkativeness_of(value: Any, path: Path) -> float:
    """0 to 1; SillyTavern stores it as a string ("0.5")."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise fail(path, "talkativeness", f"{value!r} is not a number from 0 to 1") from None
    if not 0.0 <= number <= 1.0:
        raise fail(path, "talkativeness", f"{number:g} is not between 0 and 1")
    return number


def fill_names(card: PersonaCard) -> PersonaCard:
    """The card's own name for {{char}} (also accepted in our own files). `{{user}}` and the other
    macros are filled when a prompt is built (agent/memory/world_info/macros.py): only then is the
    member known."""

    def fill(text: str) -> str:
        return re.sub(r"\{\{\s*char\s*\}\}|(?<!\{)\{char\}(?!\})", lambda _: card.name, text, flags=re.IGNORECASE)

    card.description = fill(card.description)
    card.style = fill(card.style)
    # Examples keep their speaker macros: `example_turns` reads who speaks from them, and they are
    # filled when the prompt is built.
    for entry in card.lore:
        entry.text = fill(entry.text)
    return card
