"""Catching a member up on a channel: what was said since a moment, summarised by a model.

Read from the record (the whole of it: `/observer reset` hides messages from the bot's window, not
from the channel's history), at most `MAX_MESSAGES` of the newest, then as many of those as fit the
model's context window (the oldest are left out, and the result says how many). One call through the
router, like every answer: fallbacks, cooldowns, budgets and the usage row (purpose "summary") apply.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from langchain_core.messages import BaseMessage, HumanMessage

from agent.events import ChatLine, Event
from agent.memory.record import Record
from agent.models.calls import stream_answer
from agent.models.config import ModelSpec
from agent.models.failures import FailureKind
from agent.models.router import Router
from agent.models.tokenizers import counter_for
from agent.models.tokens import shorten_middle
from agent.prompts import PromptLibrary
from agent.settings import Settings
from agent.stream import Token

log = logging.getLogger(__name__)

MAX_MESSAGES = 2000  # read from the record at most; the model's window usually holds far fewer
LINE_TOKENS = 200  # one long message is cut in its middle to this, so it cannot crowd the others out
ROOM_TOKENS = 32  # the message framing a chat template adds

# Discord's locales (and plain ISO codes) → the language the summary is written in.
LANGUAGES = {
    "id": "Indonesian",
    "da": "Danish",
    "de": "German",
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "hr": "Croatian",
    "it": "Italian",
    "lt": "Lithuanian",
    "hu": "Hungarian",
    "nl": "Dutch",
    "no": "Norwegian",
    "pl": "Polish",
    "pt": "Portuguese",
    "ro": "Romanian",
    "fi": "Finnish",
    "sv": "Swedish",
    "vi": "Vietnamese",
    "tr": "Turkish",
    "cs": "Czech",
    "el": "Greek",
    "bg": "Bulgarian",
    "ru": "Russian",
    "uk": "Ukrainian",
    "hi": "Hindi",
    "th": "Thai",
    "zh-cn": "Simplified Chinese",
    "zh-tw": "Traditional Chinese",
    "ja": "Japanese",
    "ko": "Korean",
}


def language_of(locale: str | None) -> tuple[str, str]:
    """(ISO 639-1 code, English name) of a locale such as "pt-BR", "ja", "zh-TW"; English when unknown."""
    tag = (locale or "en").lower().replace("_", "-")
    code = tag.split("-")[0]
    name = LANGUAGES.get(tag) or LANGUAGES.get(code)
    return (code, name) if name else ("en", "English")


@dataclass
class Summary:
    """What a summary covered and said. `text` empty with `failure` None: nothing was said since then."""

    since: datetime
    text: str = ""
    covered: int = 0  # messages the model read
    left_out: int = 0  # older messages since `since` that did not fit (the model's window, MAX_MESSAGES)
    left_out_more: bool = False  # more than `left_out`: the record held over MAX_MESSAGES
    from_time: datetime | None = None  # the oldest message read
    model: str | None = None
    failure: FailureKind | None = None
    notes: list[str] = field(default_factory=list)  # for logs


def transcript_line(line: ChatLine) -> str:
    when = (line.created_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M")
    text = " ".join(shorten_middle(line.text, LINE_TOKENS).split()) or "(no text)"
    return f"[{when}] {line.author}{' (bot)' if line.is_bot else ''}: {text}"


@dataclass
class Summarizer:
    """Writes one summary of a channel for one member (`event`: the member's command, as an Event)."""

    record: Record
    prompts: PromptLibrary
    router: Router
    settings: Settings

    async def summarize(self, event: Event, since: datetime, language: str) -> Summary:
        """Summary of `event`'s channel since `since` (aware, UTC), written in `language` (an English name)."""
        lines, more = await self.record.said_since(event.channel_id, since, MAX_MESSAGES)
        # The command's own Event is in the record too when a /chat stored it; a summary never reads it.
        lines = [line for line in lines if line.message_id != event.message_id]
        summary = Summary(since=since, left_out_more=more)
        if not lines:
            return summary
        transcript = [transcript_line(line) for line in lines]
        started = time.perf_counter()

        def render(messages: str) -> str:
            return self.prompts.render(
                "summary",
                event.guild_id,
                bot_name=self.settings.bot_name,
                channel=event.channel_name,
                since=since.strftime("%Y-%m-%d %H:%M UTC"),
                language=language,
                messages=messages,
            )

        def build(spec: ModelSpec) -> list[BaseMessage]:
            count = counter_for(spec)
            frame = render("")
            budget = spec.context_window - spec.max_output_tokens - count(frame) - ROOM_TOKENS
            kept: list[str] = []
            for text in reversed(transcript):  # the newest first: what a member missed last matters most
                cost = count(text) + 1
                if cost > budget:
                    break
                kept.append(text)
                budget -= cost
            kept.reverse()
            summary.covered = len(kept)
            summary.left_out = len(transcript) - len(kept)
            summary.from_time = lines[len(lines) - len(kept)].created_at if kept else None
            prompt = render("\n".join(kept) or "(nothing fits)")
            return [HumanMessage(prompt)]

        parts: list[str] = []

        def writer(item: object) -> None:
            if isinstance(item, Token):
                parts.append(item.text)

        answer = await stream_answer(
            self.router,
            None,
            (),
            build,
            writer,
            event,
            record_call=lambda **call: self.record.queue_usage(event, purpose="summary", latency_ms=0.0, **call),
            retries=self.settings.model_retries,
            max_wait_s=self.settings.max_busy_wait_seconds,
        )
        summary.model, summary.failure = answer.model, answer.failure
        summary.notes = list(answer.route_notes)
        if answer.model is not None and answer.failure is None:
            summary.text = (answer.text or "".join(parts)).strip()
            self.record.queue_usage(
                event,
                purpose="summary",
                model=answer.model,
                tokens_in=answer.tokens_in,
                tokens_out=answer.tokens_out,
                cost_usd=answer.cost_usd,
                latency_ms=(time.perf_counter() - started) * 1000,
            )
        elif summary.failure is None:
            summary.failure = "failed"
        return summary
