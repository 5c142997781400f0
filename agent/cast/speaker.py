"""Who speaks next in a channel with a cast: cheap rules first (a character named or replied to), then
the judge's choice among the candidates, and a fallback that never loops two characters forever."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

NOBODY = "none"


class Candidate(BaseModel):
    """A cast member as the judge (and Studio) sees it."""

    model_config = ConfigDict(frozen=True)

    name: str
    talkativeness: float = 0.5
    model: str = ""
    joined_after_id: int = 0
    about: str = ""  # the card's first line, for the judge


def _is_cjk(text: str) -> bool:
    return any("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af" for ch in text)


def named_in(text: str, names: list[str]) -> str | None:
    """The character the message names first ("Ren, how much…", "…right, ミカ?"). Whole words for
    alphabetic names (Ren is not in "Renata"); CJK names as written, since CJK has no spaces."""
    found: list[tuple[int, str]] = []
    lowered = text.lower()
    for name in names:
        if _is_cjk(name):
            at = text.find(name)
        else:
            match = re.search(rf"(?<![\w]){re.escape(name.lower())}(?![\w])", lowered)
            at = match.start() if match else -1
        if at >= 0:
            found.append((at, name))
    return min(found)[1] if found else None


def fallback_speaker(candidates: list[Candidate], last_speaker: str | None, addressed: bool) -> str | None:
    """When the judge cannot decide: someone speaks only if the bot was addressed, the most talkative
    of those who did not just speak."""
    if not addressed:
        return None
    others = [c for c in candidates if c.name != last_speaker] or candidates
    return max(others, key=lambda c: c.talkativeness).name if others else None


def candidates_text(candidates: list[Candidate], last_speaker: str | None) -> str:
    lines = []
    for c in candidates:
        spoke = " (spoke last)" if c.name == last_speaker else ""
        lines.append(f"- {c.name}: talkativeness {c.talkativeness:.1f}{spoke}. {c.about}".rstrip())
    return "\n".join(lines)


def speaker_schema(names: list[str]) -> type[BaseModel]:
    from pydantic import create_model

    choices: list[Any] = [*names, NOBODY]
    return create_model(
        "NextSpeaker",
        speaker=(str, Field(description="who speaks next, or none", json_schema_extra={"enum": choices})),
        reason=(str, Field(default="", json_schema_extra={"maxLength": 120})),
    )
