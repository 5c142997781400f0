"""Speech for a live voice channel: sentences go in as the reply streams, 20 ms PCM frames come out.

One worker thread synthesises sentence after sentence, so the first sentence plays while the next
is being made. The door pulls frames at its own pace (discord.py's player thread)."""

from __future__ import annotations

import queue
import threading
from concurrent.futures import ThreadPoolExecutor

from agent.voice.audio import FRAME_BYTES, to_discord_pcm
from agent.voice.sentences import speech_pieces
from agent.voice.speakable import has_sounds, speakable
from agent.voice.tts import NoVoiceForLanguage, Speaker

SILENCE = b"\x00" * FRAME_BYTES


class SpeechStream:
    def __init__(self, speaker: Speaker, language_hint: str | None = None) -> None:
        self._speaker = speaker
        self._hint = language_hint
        self._frames: queue.Queue[bytes | None] = queue.Queue()
        self._pending = b""
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="speech")
        self._stopped = threading.Event()
        self._finished = False

    def say(self, sentence: str) -> None:
        """Queue one sentence; returns at once. A sentence with nothing to say aloud (`...`, an
        emoji, a code block) is skipped, the rest of the reply still spoken."""
        text = speakable(sentence)
        if not self._stopped.is_set() and has_sounds(text):
            for piece in speech_pieces(text):
                if has_sounds(piece):
                    self._worker.submit(self._synthesize, piece)

    def _synthesize(self, sentence: str) -> None:
        if self._stopped.is_set():
            return
        try:
            speech = self._speaker.synthesize(sentence, self._hint)
        except NoVoiceForLanguage:
            return
        if speech.samples.size == 0:
            return
        pcm = self._pending + to_discord_pcm(speech.samples, speech.rate)
        whole = len(pcm) - len(pcm) % FRAME_BYTES
        for start in range(0, whole, FRAME_BYTES):
            self._frames.put(pcm[start : start + FRAME_BYTES])
        self._pending = pcm[whole:]

    def finish(self) -> None:
        """No more sentences: the stream ends once what was queued has played."""
        if self._finished:
            return
        self._finished = True

        def end() -> None:
            if self._pending:
                self._frames.put(self._pending.ljust(FRAME_BYTES, b"\x00"))
                self._pending = b""
            self._frames.put(None)

        self._worker.submit(end)
        self._worker.shutdown(wait=False)

    def stop(self) -> None:
        """Cut it off now (`/stop`)."""
        self._stopped.set()
        self._frames.put(None)
        self._worker.shutdown(wait=False, cancel_futures=True)

    def read(self, wait_s: float = 0.0) -> bytes:
        """The next 20 ms frame; silence while the next sentence is still being made; b"" at the end."""
        if self._stopped.is_set():
            return b""
        try:
            frame = self._frames.get(timeout=wait_s) if wait_s else self._frames.get_nowait()
        except queue.Empty:
            return SILENCE
        if frame is None:
            self._stopped.set()
            return b""
        return frame
