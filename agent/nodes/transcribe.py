"""transcribe: a voice message or audio file becomes text the rest of the graph reads like any
message. Limits are checked before downloading; a failure gets a one-line reply and the message
stays in the record."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from langgraph.runtime import Runtime

from agent.events import Attachment, Decision, Event
from agent.member_texts import cannot_download, cannot_listen, recording_too_long
from agent.memory.record import Record
from agent.state import Context, State, context_of
from agent.stream import Token
from agent.voice.audio_errors import AudioError, AudioTooLong
from agent.voice.fetch import TooLarge, fetch, is_audio
from agent.voice.stt import Transcriber, Transcript

log = logging.getLogger(__name__)


def audio_attachment(event: Event) -> Attachment | None:
    return next((a for a in event.attachments if is_audio(a) and a.url), None)


@dataclass
class Transcribe:
    """Turns a voice message or audio file into text."""

    record: Record
    transcriber: Transcriber
    max_seconds: float
    max_bytes: int
    bot_user_id: int

    async def __call__(self, state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        started = time.perf_counter()
        event = state["event"]
        ctx = context_of(runtime)
        attachment = audio_attachment(event)
        if attachment is None or attachment.url is None:
            return {}
        refusal: tuple[str, str] | None = None
        too_long = attachment.duration_s is not None and attachment.duration_s > self.max_seconds
        over_limit = (
            recording_too_long(self.limits()),
            "audio over the size or duration limit",
        )
        if attachment.size > self.max_bytes or too_long:
            refusal = over_limit  # refused before downloading anything
        else:
            import aiohttp  # with the first recording (fetch imports it too): for its errors

            try:
                data = await fetch(attachment.url, self.max_bytes)
                # The client-reported duration can lie: decoding stops at the cap whatever it said.
                from agent.voice.decoding import decode  # PyAV loads with the first recording

                samples = await asyncio.to_thread(decode, data, self.max_seconds)
                heard: Transcript = await asyncio.to_thread(self.transcriber.transcribe, samples)
            except (TooLarge, AudioTooLong) as exc:
                log.info("audio of message %s refused: %s", event.message_id, exc)
                refusal = over_limit
            except AudioError as exc:
                refusal = (cannot_listen(attachment.filename, str(exc)), f"audio: {exc}")
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                log.warning("audio download failed for message %s: %s", event.message_id, exc)
                refusal = (cannot_download(attachment.filename), "audio download failed")
        if refusal is not None:
            return self.refuse(state, ctx, runtime.stream_writer, *refusal)
        transcript = heard.text or "(no speech heard)"
        await self.record.store_transcript(event.message_id, transcript)
        text = f"{event.text}\n{transcript}".strip() if event.text else transcript
        return {
            "event": event.model_copy(update={"text": text}),
            "transcript": heard.text,
            "spoken_language": heard.language,
            "heard_voice": attachment.is_voice,
            "timings": {
                "transcribe_ms": (time.perf_counter() - started) * 1000,
                "audio_s": heard.duration_s,
            },
        }

    def limits(self) -> str:
        return f"{self.max_seconds / 60:g} min, {self.max_bytes / 1024 / 1024:g} MB"

    def refuse(self, state: State, ctx: Context, writer: Any, text: str, why: str) -> dict[str, Any]:
        event = state["event"]
        writer(Token(text=text))
        update: dict[str, Any] = {
            "reply": text,
            "error": why,
            "decision": Decision(respond=False, reason=why, source="transcribe"),
        }
        if ctx.store_reply:
            update["reply_message_id"] = self.record.store_bot_reply(
                event, text, event.bot_user_id or self.bot_user_id, ctx.bot_name
            )
        return update
