"""One reply on Discord: the graph's typed stream rendered as a message that grows by edits, the typing
indicator until it starts, the bot's presence, speech in a voice channel, the voice message at the end."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import discord

from agent.events import Event
from agent.member_texts import (
    ANSWERED_BEFORE_EDIT,
    THINKING,
    capped_note,
    could_not_answer,
    cut_short,
    usage_footer,
)
from agent.memory.progress import Progress
from agent.redact import redact
from agent.stream import (
    ApprovalNeeded,
    Decided,
    DoorEvent,
    Notice,
    ReplyStart,
    RunOutcome,
    Thinking,
    Token,
    VoiceClip,
)
from agent.verdicts import ApprovalRequest
from agent.voice.tts import Speaker
from discord_adapter.characters import CharacterDesk, CharacterSink
from discord_adapter.presence import Presence
from discord_adapter.sinks import ReplySink
from discord_adapter.split import DISCORD_LIMIT
from discord_adapter.stream import ChannelBudget, Sink, StreamRenderer
from discord_adapter.voice import LiveSpeech, send_voice_message, voice_client_for

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Surroundings:
    """What one reply uses of the running bot."""

    client: discord.Client  # its voice connections (speaking in a voice channel) and HTTP (voice messages)
    budget: ChannelBudget
    presence: Presence
    progress: Progress  # the reply's posted parts, as they are posted
    characters: CharacterDesk
    speaker: Speaker
    voice_with_text: bool
    edited_since_taken: Callable[[Event], bool]
    # Whether answers here carry the model · tokens · cost line (a server's choice; None: never).
    shows_footer: Callable[[Event], Awaitable[bool]] | None = None


class ReplyRun:
    """Consumes one run's stream events; `finish` delivers what is left and says how it ended."""

    def __init__(
        self, around: Surroundings, event: Event, sink: Sink, typing_in: Any, *, resume: list[Any] | None, track: bool
    ) -> None:
        self.around = around
        self.event = event
        self.sink = sink
        self.outcome = RunOutcome()  # how the run ended (its last event); empty until then
        self.decided: Decided | None = None
        self.voice: VoiceClip | None = None
        self._typing_in = typing_in
        self._stop_typing = asyncio.Event()
        self._typing: asyncio.Task[None] | None = None
        self._activity = "thinking"
        self._live: LiveSpeech | None = None
        self._hold_text = False
        self._held: list[str] = []  # text kept back when the operator wants voice replies without text
        self.approval: ApprovalRequest | None = None  # the run paused for a member's approval of a tool call
        self.renderer = StreamRenderer(
            sink,
            around.budget,
            event.channel_id,
            on_first_message=self._stop_typing.set,
            on_posted=self._posted if track else None,
            resume=resume,
            limit=DISCORD_LIMIT - sink.reserve if isinstance(sink, ReplySink) else DISCORD_LIMIT,
        )
        around.presence.enter(self._activity)

    async def _posted(self, handles: list[Any]) -> None:
        await self.around.progress.note_reply_parts(self.event.message_id, [h.id for h in handles if h is not None])

    def on(self, item: DoorEvent) -> None:
        if isinstance(item, ReplyStart):
            # The graph decided whether the answer is spoken; the operator whether text shows too.
            self._hold_text = item.spoken and not self.around.voice_with_text
        elif isinstance(item, Token):
            self._on_token(item.text)
        elif isinstance(item, VoiceClip):
            self.voice = item
        elif isinstance(item, Notice):
            self.renderer.show_notice(item.text)
        elif isinstance(item, Thinking):
            if item.retract:  # what streamed was the model thinking: taken back by the next edit
                self.renderer.text = self.renderer.text[: -item.retract]
                self._held = list("".join(self._held)[: -item.retract])
            if not self.renderer.text:
                self.renderer.show_notice(THINKING)
        elif isinstance(item, ApprovalNeeded):
            self.approval = item.request
        elif isinstance(item, Decided):
            self._on_decided(item)
        else:
            self.outcome = item

    def _on_token(self, text: str) -> None:
        if self._activity == "thinking":
            self._switch_activity("talking")
            self._live = self._live_speech()
        if self._live is not None:
            self._live.feed(text)
        if self._hold_text:
            self._held.append(text)
        else:
            self.renderer.feed(text)

    def _on_decided(self, decided: Decided) -> None:
        self.decided = decided
        decision = decided.decision
        if decision.speaker and isinstance(self.sink, ReplySink) and not self.renderer.sent:
            # A character of the channel's cast answers: through its own webhook (name and face).
            sink = CharacterSink(self.around.characters, self.sink.message, decision.speaker)
            self.sink = self.renderer.sink = sink
            self.renderer.limit = DISCORD_LIMIT - len(sink.prefix)  # room for the name if it must be shown

        if self._typing is None and decision.respond and self._typing_in is not None:
            self._typing = asyncio.create_task(self._keep_typing(self._typing_in))

    def _switch_activity(self, activity: str) -> None:
        self.around.presence.leave(self._activity)
        self._activity = activity
        self.around.presence.enter(activity)

    def _live_speech(self) -> LiveSpeech | None:
        voice_client = voice_client_for(self.around.client, self.event)
        if voice_client is None:
            return None
        language = self.decided.spoken_language if self.decided is not None else None
        return LiveSpeech(voice_client, self.around.speaker, language)

    async def _keep_typing(self, channel: Any) -> None:
        async with channel.typing():
            await self._stop_typing.wait()

    async def stop_streaming(self) -> None:
        """The stream ended (or failed): stop speaking, typing and showing an activity."""
        if self._live is not None:
            self._live.finish()
        self.around.presence.leave(self._activity)
        self._stop_typing.set()
        if self._typing is not None:
            await asyncio.gather(self._typing, return_exceptions=True)

    def error(self) -> str | None:
        """The run's error, redacted (None: it did not fail)."""
        error = self.outcome.error
        return redact(error.message) if error else None

    async def finish(self) -> str | None:
        """Deliver the answer (text, voice message, or a one-line apology); returns the run's error."""
        outcome = self.outcome
        error = outcome.error
        if self._held and self.voice is None:
            self.renderer.feed("".join(self._held))  # no voice after all (e.g. none for the language): the text
        if self.voice is not None and isinstance(self.sink, ReplySink):
            await self._deliver_voice(self.voice)
        if self.renderer.text:
            capped = capped_note(outcome.capped, outcome.capped_seconds)
            note = cut_short(error.code) if error else capped
            if self.around.edited_since_taken(self.event):
                note += ANSWERED_BEFORE_EDIT
            await self.renderer.finish(note=note, footer=await self._footer())
        elif outcome.member_note and not error:
            self.renderer.text = outcome.member_note  # over a quota, flooding: said once, briefly
            await self.renderer.finish()
        elif error:
            self.renderer.text = could_not_answer(error.code)
            await self.renderer.finish()  # replaces a busy notice if one was shown
        return self.error()

    async def _footer(self) -> str:
        """The usage line under a finished answer, where the server turned it on ("" otherwise)."""
        usage, shows = self.outcome.usage, self.around.shows_footer
        if usage is None or self.outcome.error is not None or shows is None:
            return ""
        try:
            if not await shows(self.event):
                return ""
        except Exception as exc:  # the setting unreadable (database away): the answer goes out without it
            log.warning("footer setting not read: %s", type(exc).__name__)
            return ""
        return usage_footer(usage["model"], usage["tokens_in"], usage["tokens_out"], usage["cost_usd"])

    async def _deliver_voice(self, voice: VoiceClip) -> None:
        path, event = Path(voice.path), self.event
        try:
            async with self.around.budget.turn(event.channel_id):
                http = self.around.client.http
                await send_voice_message(
                    http, event.channel_id, path, voice.duration_s, voice.waveform, event.message_id
                )
        except discord.HTTPException as exc:
            log.warning("voice message for %s not sent: %s", self.event.message_id, exc)
        finally:
            await asyncio.to_thread(path.unlink, True)
