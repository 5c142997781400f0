"""The judge's turn in a channel with a cast: who speaks next, if anyone (one structured call)."""

from __future__ import annotations

import logging

from agent.cast.speaker import NOBODY, Candidate, candidates_text, fallback_speaker, speaker_schema
from agent.events import ChatLine, Decision, Event
from agent.memory.record import Record
from agent.models.router import Router
from agent.models.structured import structured_call
from agent.models.tokens import shorten_middle
from agent.prompts import PromptLibrary

log = logging.getLogger(__name__)

HISTORY_LINES = 12
LINE_TOKENS = 80
MESSAGE_TOKENS = 400


def last_character(history: list[ChatLine], names: list[str]) -> str | None:
    for line in reversed(history):
        if line.is_bot and line.author in names:
            return line.author
    return None


async def choose_speaker(
    router: Router,
    record: Record,
    prompts: PromptLibrary,
    event: Event,
    history: list[ChatLine],
    cast: list[Candidate],
    addressed: bool,
) -> tuple[Decision, float | None]:
    """(decision, model ms). A character's own line is never answered by that character."""
    registry = router.registry
    names = [c.name for c in cast]
    last = event.author_name if event.chain_depth else last_character(history, names)
    pool = [c for c in cast if not (event.chain_depth and c.name == event.author_name)]
    if not pool:
        return Decision(respond=False, reason="nobody else in the cast", source="rule"), None
    recent = history[-HISTORY_LINES:]
    prompt = await prompts.arender(
        "cast_judge",
        event.guild_id,
        channel=event.channel_name or "dm",
        candidates=candidates_text(pool, last),
        history="\n".join(f"{line.author}: {shorten_middle(line.text, LINE_TOKENS)}" for line in recent)
        or "(no earlier messages)",
        message=shorten_middle(event.text, MESSAGE_TOKENS),
        author=event.author_name,
    )
    available = await router.available()
    if not await router.paid_calls_allowed(event.guild_id):
        available = [n for n in available if registry.spec(n).free]
    result = await structured_call(
        registry,
        router.cooldowns,
        record,
        speaker_schema([c.name for c in pool]),
        prompt,
        preferred=registry.judge_model,
        candidates=available,
        purpose="judge",
        event=event,
    )
    if result.error is not None:
        speaker = None if event.chain_depth else fallback_speaker(pool, last, addressed)
        log.warning("cast judge failed (%s); %s", result.error, speaker or "nobody speaks")
        reason = f"judge unusable ({result.error}); " + (f"{speaker}, the most talkative" if speaker else "nobody")
        return Decision(respond=speaker is not None, speaker=speaker, reason=reason, source="fallback"), result.model_ms
    chosen = str(result.output.speaker)
    speaker = next((c.name for c in pool if c.name == chosen), None) if chosen != NOBODY else None
    reason = str(result.output.reason or "")[:120] or ("nobody would reply" if speaker is None else "")
    decision = Decision(
        respond=speaker is not None, speaker=speaker, reason=reason, source="judge", method=result.method
    )
    return decision, result.model_ms


def model_for(speaker: str | None, cast: list[Candidate], names: list[str]) -> str | None:
    """The character's own model, if it names one that is configured."""
    wanted = next((c.model for c in cast if c.name == speaker), "")
    if wanted and wanted not in names:
        log.warning("%s asks for model %r, which is not configured; using the usual choice", speaker, wanted)
        return None
    return wanted or None
