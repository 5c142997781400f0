"""SillyTavern character cards (V1, V2, V3, and the older Pygmalion `char_*` names) with their lorebooks.

Read as leniently as SillyTavern reads them: only a name is required (SillyTavern refuses a card
without one). An empty or malformed optional field gets its default and a warning naming the field;
the card still loads. Sizes are capped: each field, and the lorebook (see limits.py).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from agent.memory.file_limits import DEFAULT_LIMITS, FileLimits
from agent.memory.persona_files.cards import (
    NAME_PATTERN,
    PersonaCard,
    capped,
    fail,
    fill_names,
)
from agent.memory.world_info.books import read_entries

# Pygmalion/Gradio cards (SillyTavern still imports them) name the same fields differently.
_OLD_NAMES = {
    "name": "char_name",
    "description": "char_persona",
    "scenario": "world_scenario",
    "first_mes": "char_greeting",
    "mes_example": "example_dialogue",
}


class _Fields:
    def __init__(self, body: dict[str, Any], path: Path, limits: FileLimits, warnings: list[str]) -> None:
        self.body, self.path, self.limits, self.warnings = body, path, limits, warnings

    def warn(self, key: str, problem: str) -> None:
        self.warnings.append(f"{self.path}: {key}: {problem}")

    def text(self, key: str) -> str:
        """An optional text field: missing, null or of another type reads as empty (with a warning)."""
        found = key if key in self.body else _OLD_NAMES.get(key, key)
        value = self.body.get(found)
        if value is None:
            return ""
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            self.warn(found, "is a list, not text; its items were joined")
            value = "\n".join(value)
        if not isinstance(value, str):
            self.warn(found, f"must be text, got {type(value).__name__}; left empty")
            return ""
        return capped(self.path, found, value, self.limits).strip()

    def extension(self, key: str) -> tuple[str, Any]:
        """V2/V3 keep SillyTavern's own fields under `extensions`; V1 cards have them at the top."""
        extensions = self.body.get("extensions")
        if isinstance(extensions, dict) and key in extensions:
            return f"extensions.{key}", extensions[key]
        return key, self.body.get(key)

    def talkativeness(self) -> float:
        """0 to 1; SillyTavern stores it as text ("0.5") and reads anything else as its default."""
        key, value = self.extension("talkativeness")
        if value is None:
            return 0.5
        try:
            if isinstance(value, bool):
                raise ValueError
            number = float(value)
            if number != number:  # NaN
                raise ValueError
        except (TypeError, ValueError):
            self.warn(key, f"{value!r} is not a number from 0 to 1; using 0.5")
            return 0.5
        if not 0.0 <= number <= 1.0:
            self.warn(key, f"{number:g} is not between 0 and 1; using {min(max(number, 0.0), 1.0):g}")
            return min(max(number, 0.0), 1.0)
        return number


def card_from_tavern(data: Any, path: Path, limits: FileLimits = DEFAULT_LIMITS) -> PersonaCard:
    """SillyTavern V1 (flat), V2 (`chara_card_v2`) and V3 (`chara_card_v3`) cards, lorebook included."""
    if not isinstance(data, dict):
        raise fail(path, "card", "must be a JSON object")
    nested = data.get("data")
    body = nested if isinstance(nested, dict) and ("name" in nested or "spec" in data) else data
    warnings: list[str] = []
    if "spec" in data and body is data:
        warnings.append(f"{path}: data: missing or not an object; read the card's top-level fields instead")
    f = _Fields(body, path, limits, warnings)
    name = f.text("name") or (_Fields(data, path, limits, warnings).text("name") if body is not data else "")
    if not name:
        raise fail(path, "name", "is missing or empty (a character card needs a name, as in SillyTavern)")
    name = name[:48]
    description = "\n\n".join(p for p in (f.text("description"), f.text("scenario")) if p) or f.text("personality")
    if not description:
        warnings.append(f"{path}: description: is empty; the character is only its name")
        description = f"{name}."
    examples = [e.strip() for e in re.split(r"<START>", f.text("mes_example"), flags=re.I) if e.strip()]
    first = f.text("first_mes")
    if first:
        examples.insert(0, f"{{{{char}}}}: {first}")
    lore = read_entries(body.get("character_book"), path, "character_book.entries", limits, warnings)
    model_key, model = f.extension("observer_model")
    if model is not None and not isinstance(model, str):
        warnings.append(f"{path}: {model_key}: must be a model's name; ignored")
        model = ""
    personality = f.text("personality")
    card = PersonaCard(
        name=name if NAME_PATTERN.match(name) else re.sub(r"[^\w .'-]", "", name).strip() or "card",
        description=description,
        style=personality if description != personality else "",
        examples=examples,
        lore=lore,
        source=str(path),
        talkativeness=f.talkativeness(),
        model=(model or "").strip(),
        warnings=warnings,
    )
    return fill_names(card)
