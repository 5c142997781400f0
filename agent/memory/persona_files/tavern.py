"""SillyTavern character cards (V1, V2, V3) with their lorebooks."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from agent.memory.persona_files.cards import (
    NAME_PATTERN,
    LoreEntry,
    PersonaCard,
    fail,
    fill_names,
    talkativeness_of,
    text_field,
)


def card_from_tavern(data: Any, path: Path) -> PersonaCard:
    """SillyTavern V1 (flat), V2 (`chara_card_v2`) and V3 (`chara_card_v3`) cards, lorebook included."""
    if not isinstance(data, dict):
        raise fail(path, "card", "must be a JSON object")
    body = data.get("data") if isinstance(data.get("data"), dict) else data
    assert isinstance(body, dict)
    name = text_field(body, "name", path, required=True)[:48]
    description = "\n\n".join(
        p for p in (text_field(body, "description", path), text_field(body, "scenario", path)) if p
    ) or text_field(body, "personality", path)
    if not description:
        raise fail(path, "description", "is missing or empty")
    examples = [e.strip() for e in re.split(r"<START>", text_field(body, "mes_example", path), flags=re.I) if e.strip()]
    first = text_field(body, "first_mes", path)
    if first:
        examples.insert(0, f"{{{{char}}}}: {first}")
    lore: list[LoreEntry] = []
    book = body.get("character_book") or {}
    entries = book.get("entries", []) if isinstance(book, dict) else None
    if not isinstance(entries, list):
        raise fail(path, "character_book.entries", "must be a list")
    for i, entry in enumerate(entries):
        where = f"character_book.entries[{i}]"
        if not isinstance(entry, dict):
            raise fail(path, where, "must be an object")
        if entry.get("enabled") is False:
            continue
        content = entry.get("content")
        if not isinstance(content, str):
            raise fail(path, f"{where}.content", "must be text")
        if not content.strip():
            continue
        keys = entry.get("keys", [])
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise fail(path, f"{where}.keys", "must be a list of words")
        # A constant entry always applies in SillyTavern; here it is found by meaning instead.
        keywords = [] if entry.get("constant") else [k.strip() for k in keys if k.strip()]
        lore.append(LoreEntry(content.strip(), keywords))
    card = PersonaCard(
        name=name if NAME_PATTERN.match(name) else re.sub(r"[^\w .'-]", "", name).strip() or "card",
        description=description,
        style=text_field(body, "personality", path) if description != text_field(body, "personality", path) else "",
        examples=examples,
        lore=lore,
        source=str(path),
        talkativeness=talkativeness_of(_extension(body, "talkativeness", 0.5), path),
        model=str(_extension(body, "observer_model", "") or ""),
    )
    return fill_names(card)


def _extension(body: dict[str, Any], key: str, default: Any) -> Any:
    """V2/V3 keep SillyTavern's own fields under `extensions`; V1 cards have them at the top."""
    extensions = body.get("extensions")
    if isinstance(extensions, dict) and key in extensions:
        return extensions[key]
    return body.get(key, default)
