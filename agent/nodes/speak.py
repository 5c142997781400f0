"""speak: the reply as a voice message (Ogg/Opus, 48 kHz mono, with duration and waveform), when
the member spoke by voice, asked to hear the answer, or the channel is in voice mode."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langgraph.runtime import Runtime

from agent.state import Context, State
from agent.stream import VoiceClip
from agent.voice.speakable import has_sounds, speakable
from agent.voice.tts import NoVoiceForLanguage, Speaker

log = logging.getLogger(__name__)

NOTHING_TO_SAY = "the reply has nothing to say aloud (only punctuation, emoji, symbols or code); sent as text only"

# "say it", "read it out loud", "voice message", 声で, 読み上げ, голосом, por voz, em áudio...
_ASKS_FOR_VOICE = re.compile(
    r"\b(say it|out loud|aloud|voice (message|note|reply)|speak|read (it|this) (to me|out))\b"
    r"|声で|読み上げ|音声で|голосом|вслух|por voz|em áudio|em voz alta",
    re.IGNORECASE,
)


def wants_voice(state: State) -> bool:
    decision = state.get("decision")
    event = state.get("event")
    return bool(
        (decision is not None and decision.voice)
        or state.get("heard_voice")
        or (state.get("channel_settings") or {}).get("voice")
        or (event is not None and _ASKS_FOR_VOICE.search(event.text or ""))
    )


@dataclass
class Speak:
    """Turns the reply into a voice message."""

    speaker: Speaker
    voice_dir: Path

    async def __call__(self, state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        started = time.perf_counter()
        reply = state.get("reply") or ""
        if not reply.strip() or state.get("error"):
            return {}
        event = state["event"]
        text = speakable(reply)
        if not has_sounds(text):
            log.info("no voice reply for message %s: %s", event.message_id, NOTHING_TO_SAY)
            return {"voice_error": NOTHING_TO_SAY}
        try:
            speech = await asyncio.to_thread(self.speaker.synthesize, text, state.get("spoken_language"))
        except NoVoiceForLanguage as exc:
            log.info("no voice reply for message %s: %s", event.message_id, exc)
            return {"voice_error": str(exc)}
        if speech.samples.size == 0:  # the voice found nothing to say in it either
            log.info("no voice reply for message %s: %s", event.message_id, NOTHING_TO_SAY)
            return {"voice_error": NOTHING_TO_SAY}
        from agent.voice.audio import encode_voice_message  # PyAV loads only when the bot speaks

        clip = await asyncio.to_thread(encode_voice_message, speech.samples, speech.rate)
        name = f"{state.get('reply_message_id') or event.message_id}.ogg"
        folder = self.voice_dir
        path = folder / name

        def write() -> None:
            folder.mkdir(parents=True, exist_ok=True)
            tmp = Path(f"{path}.tmp")
            tmp.write_bytes(clip.data)
            tmp.replace(path)

        await asyncio.to_thread(write)
        voice = VoiceClip(path=str(path), duration_s=clip.duration_s, waveform=clip.waveform, language=speech.language)
        runtime.stream_writer(voice)
        return {"voice_reply": voice.model_dump(), "timings": {"speak_ms": (time.perf_counter() - started) * 1000}}
