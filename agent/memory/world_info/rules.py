"""One World Info entry's activation rule, as SillyTavern defines it, stored beside the lore text."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import IntEnum


class Logic(IntEnum):
    """SillyTavern's `selectiveLogic`: how secondary keys combine with a primary key's match."""

    AND_ANY = 0
    NOT_ALL = 1
    NOT_ANY = 2
    AND_ALL = 3


@dataclass(frozen=True)
class Rule:
    keys: tuple[str, ...] = ()
    secondary: tuple[str, ...] = ()
    logic: Logic = Logic.AND_ANY
    selective: bool = True
    constant: bool = False
    # None: the global default (case-insensitive, whole words).
    case_sensitive: bool | None = None
    whole_words: bool | None = None
    # How many recent messages this entry scans; None: the global default.
    scan_depth: int | None = None
    order: int = 100
    exclude_recursion: bool = False  # never turned on by another entry's text
    prevent_recursion: bool = False  # its own text never turns on another entry
    # SillyTavern's `vectorized`: also found by meaning (embedding similarity), besides its keys.
    vectorized: bool = False

    @property
    def triggers(self) -> bool:
        """Whether anything can turn it on (else it is found only by meaning)."""
        return self.constant or any(k.strip() for k in self.keys)

    @property
    def by_meaning(self) -> bool:
        """Whether a search by meaning may find it: as in SillyTavern, an entry with keys (or constant)
        comes in only by its rules unless it is `vectorized`; one with nothing to trigger it is found
        by meaning, so it is not dead weight."""
        return self.vectorized or not self.triggers

    def to_json(self) -> str:
        data = asdict(self)
        data["logic"] = int(self.logic)
        if not self.vectorized:  # as before the field existed: stored entries keep their ids
            del data["vectorized"]
        return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Rule:
        data = json.loads(text)
        return cls(
            keys=tuple(data.get("keys", ())),
            secondary=tuple(data.get("secondary", ())),
            logic=Logic(int(data.get("logic", 0))),
            selective=bool(data.get("selective", True)),
            constant=bool(data.get("constant", False)),
            case_sensitive=data.get("case_sensitive"),
            whole_words=data.get("whole_words"),
            scan_depth=data.get("scan_depth"),
            order=int(data.get("order", 100)),
            exclude_recursion=bool(data.get("exclude_recursion", False)),
            prevent_recursion=bool(data.get("prevent_recursion", False)),
            vectorized=bool(data.get("vectorized", False)),
        )


@dataclass
class LoreEntry:
    """One World Info entry: its text, its keywords, and when it activates."""

    text: str
    keywords: list[str] = field(default_factory=list)
    # SillyTavern World Info activation (secondary keys, logic, flags); None: any keyword turns it on.
    rule: Rule | None = None

    def activation(self) -> Rule:
        return self.rule if self.rule is not None else Rule(keys=tuple(self.keywords))
