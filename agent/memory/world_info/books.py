"""World Info as SillyTavern writes it: standalone files (`{"entries": {"0": {...}}}`) and a card's
`character_book` (V2/V3: `{"entries": [{"keys": [...], "extensions": {...}}]}`).

Read as leniently as SillyTavern reads them: an empty or malformed optional field gets its default
and a warning naming it; only an entry's content is needed (an entry without text is skipped, with a
warning). Sizes are capped: the number of entries, each entry's text and all of them together.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agent.memory.file_limits import FileLimits, fail, over
from agent.memory.world_info.activation import key_problem
from agent.memory.world_info.rules import Logic, LoreEntry, Rule

# SillyTavern's own names, then the V2 card spec's (top level or under `extensions`).
_NAMES: dict[str, tuple[str, ...]] = {
    "keys": ("key", "keys"),
    "secondary": ("keysecondary", "secondary_keys"),
    "logic": ("selectiveLogic",),
    "selective": ("selective",),
    "constant": ("constant",),
    "disabled": ("disable",),
    "enabled": ("enabled",),
    "case_sensitive": ("caseSensitive", "case_sensitive"),
    "whole_words": ("matchWholeWords", "match_whole_words"),
    "scan_depth": ("scanDepth", "scan_depth"),
    "order": ("order", "insertion_order", "priority"),
    "exclude_recursion": ("excludeRecursion", "exclude_recursion"),
    "prevent_recursion": ("preventRecursion", "prevent_recursion"),
    "vectorized": ("vectorized",),
}


def is_world_book(data: Any) -> bool:
    """A standalone World Info file: entries, and nothing that makes it a character card."""
    return (
        isinstance(data, dict)
        and isinstance(data.get("entries"), dict | list)
        and not any(k in data for k in ("spec", "data", "char_name", "first_mes", "description"))
    )


class Reader:
    """Reads one book's entries, collecting warnings (the file and the field, then what was done)."""

    def __init__(self, path: Path | str, limits: FileLimits, warnings: list[str]) -> None:
        self.path = path
        self.limits = limits
        self.warnings = warnings

    def warn(self, field: str, problem: str) -> None:
        self.warnings.append(f"{self.path}: {field}: {problem}")

    def _get(self, entry: dict[str, Any], name: str) -> tuple[str, Any]:
        found = entry.get("extensions")
        extensions: dict[str, Any] = found if isinstance(found, dict) else {}
        for key in _NAMES[name]:
            if key in entry:
                return key, entry[key]
        for key in _NAMES[name]:
            if key in extensions:
                return f"extensions.{key}", extensions[key]
        return _NAMES[name][0], None

    def flag(self, entry: dict[str, Any], name: str, where: str, default: bool | None) -> bool | None:
        key, value = self._get(entry, name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.strip().lower() in ("true", "1", "yes")
        self.warn(f"{where}.{key}", f"{value!r} is not true or false; using {default}")
        return default

    def number(self, entry: dict[str, Any], name: str, where: str, default: int | None) -> int | None:
        key, value = self._get(entry, name)
        if value is None or value == "":
            return default
        try:
            if isinstance(value, bool):
                raise ValueError
            return int(float(value))
        except (TypeError, ValueError, OverflowError):
            self.warn(f"{where}.{key}", f"{value!r} is not a number; using {default}")
            return default

    def words(self, entry: dict[str, Any], name: str, where: str) -> tuple[str, ...]:
        key, value = self._get(entry, name)
        if value is None or value == "":
            return ()
        if isinstance(value, str):  # SillyTavern's editor takes "a, b" too
            value = value.split(",")
        if not isinstance(value, list):
            self.warn(f"{where}.{key}", f"must be a list of keys, got {type(value).__name__}; ignored")
            return ()
        if any(not isinstance(k, str) for k in value):
            self.warn(f"{where}.{key}", "has keys that are not text; those were ignored")
        return tuple(k.strip() for k in value if isinstance(k, str) and k.strip())

    def entry(self, raw: Any, where: str) -> LoreEntry | None:
        if not isinstance(raw, dict):
            self.warn(where, f"must be an object, got {type(raw).__name__}; skipped")
            return None
        content = raw.get("content")
        if content is None or (isinstance(content, str) and not content.strip()):
            return None  # SillyTavern's own books have blank entries; nothing to know
        if not isinstance(content, str):
            self.warn(f"{where}.content", f"must be text, got {type(content).__name__}; entry skipped")
            return None
        if len(content) > self.limits.field_chars:
            raise fail(self.path, f"{where}.content", over(self.limits, "field_chars", f"{len(content):,} characters"))
        if self.flag(raw, "disabled", where, False) or self.flag(raw, "enabled", where, True) is False:
            return None
        logic = self.number(raw, "logic", where, 0) or 0
        if logic not in tuple(Logic):
            self.warn(f"{where}.selectiveLogic", f"{logic} is not 0-3; using 0 (AND ANY)")
            logic = 0
        depth = self.number(raw, "scan_depth", where, None)
        if depth is not None and not 0 <= depth <= 1000:
            self.warn(f"{where}.scanDepth", f"{depth} is not 0-1000; using the global scan depth")
            depth = None
        rule = Rule(
            keys=self.words(raw, "keys", where),
            secondary=self.words(raw, "secondary", where),
            logic=Logic(logic),
            selective=bool(self.flag(raw, "selective", where, True)),
            constant=bool(self.flag(raw, "constant", where, False)),
            case_sensitive=self.flag(raw, "case_sensitive", where, None),
            whole_words=self.flag(raw, "whole_words", where, None),
            scan_depth=depth,
            order=self.number(raw, "order", where, 100) or 0,
            exclude_recursion=bool(self.flag(raw, "exclude_recursion", where, False)),
            prevent_recursion=bool(self.flag(raw, "prevent_recursion", where, False)),
            vectorized=bool(self.flag(raw, "vectorized", where, False)),
        )
        uid = raw.get("uid", raw.get("id"))
        label = f"{where} (uid {uid})" if isinstance(uid, int | str) and str(uid) != "" else where
        for key in rule.keys + rule.secondary:
            problem = key_problem(key)
            if problem is not None:
                self.warn(label, f"key {key!r} {problem}; it never matches")
        return LoreEntry(content.strip(), list(rule.keys), rule=rule)


def _items(entries: dict[str, Any] | list[Any], where: str) -> Iterator[tuple[str, Any]]:
    if isinstance(entries, dict):
        for key, value in entries.items():
            yield f"{where}[{key!r}]" if not str(key).isdigit() else f"{where}[{key}]", value
    else:
        for i, value in enumerate(entries):
            yield f"{where}[{i}]", value


def read_entries(book: Any, path: Path | str, where: str, limits: FileLimits, warnings: list[str]) -> list[LoreEntry]:
    """A book's entries (`where` names its place in the file: `entries`, `character_book.entries`)."""
    if book is None or book == "" or book == {}:
        return []
    if not isinstance(book, dict):
        warnings.append(f"{path}: {where.rsplit('.', 1)[0] or where}: must be an object; ignored")
        return []
    raw = book.get("entries")
    if raw is None:
        return []
    if not isinstance(raw, dict | list):
        warnings.append(f"{path}: {where}: must be a list or an object of entries; ignored")
        return []
    if len(raw) > limits.lore_entries:
        raise fail(path, where, over(limits, "lore_entries", f"{len(raw):,} entries"))
    reader = Reader(path, limits, warnings)
    out: list[LoreEntry] = []
    total = 0
    for place, item in _items(raw, where):
        entry = reader.entry(item, place)
        if entry is None:
            continue
        total += len(entry.text)
        if total > limits.lore_chars:
            raise fail(path, where, over(limits, "lore_chars", "the lore's text altogether"))
        out.append(entry)
    return out
