"""Voice numbers (issue E), with the bundled models on this machine.

1. Speech-to-text real-time factor (Whisper tiny.en, CTranslate2 int8): a ~10 s voice message,
   from Ogg/Opus bytes through decoding, resampling and transcription (target <= 0.10).
2. Text-to-speech real-time factor (Piper en_US joe medium), with and without Opus encoding
   (target <= 0.05).
3. Voice channel: from a complete first sentence to the first Opus frame ready to send, through
   the same SpeechStream the bot plays from and discord.py's Opus encoder (target <= 300 ms).

    .venv/bin/python -m bench.voice
"""

from __future__ import annotations

import time
from pathlib import Path

import discord

from agent.voice.audio import decode, encode_voice_message
from agent.voice.playback import SILENCE, SpeechStream
from agent.voice.stt import Transcriber
from agent.voice.tts import Speaker
from bench.harness import percentile, summary
from discord_adapter.voice import load_opus


def rtf(name: str, values: list[float]) -> str:
    return f"{name}: n={len(values)} p50={percentile(values, 50):.3f} p90={percentile(values, 90):.3f} max={max(values):.3f}"


PARAGRAPH = (
    "Good morning everyone. The ferry to the islands leaves at eight, and the second one at half past three. "
    "If the weather turns bad, the afternoon crossing may be cancelled, so check the notice board at the harbour."
)
SENTENCES = [
    "Sure, the market opens on Tuesdays and Saturdays.",
    "Hello there!",
    "The lighthouse has two hundred and fourteen steps, and the view from the top is worth every one of them.",
    "Bring a warm coat.",
    "I think the library is closed on Mondays, but let me check.",
]


def main() -> None:
    speaker = Speaker(None)
    speaker.synthesize("Warm up.")
    # 1. STT
    speech = speaker.synthesize(PARAGRAPH)
    clip = encode_voice_message(speech.samples, speech.rate)
    transcriber = Transcriber(None, None, Path("data/models/whisper"))
    transcriber.transcribe(decode(clip.data, 300.0))  # load once
    stt = []
    for _ in range(5):
        started = time.perf_counter()
        heard = transcriber.transcribe(decode(clip.data, 300.0))
        stt.append((time.perf_counter() - started) / clip.duration_s)
    print(f"speech-to-text: {clip.duration_s:.1f} s voice message -> {heard.text!r}")
    print(rtf("  real-time factor (decode + resample + transcribe)", stt) + "  (target <= 0.10)")

    # 2. TTS
    tts, tts_opus = [], []
    for _ in range(3):
        for sentence in [PARAGRAPH, *SENTENCES]:
            started = time.perf_counter()
            out = speaker.synthesize(sentence)
            synthesized = time.perf_counter()
            encode_voice_message(out.samples, out.rate)
            encoded = time.perf_counter()
            seconds = out.samples.size / out.rate
            tts.append((synthesized - started) / seconds)
            tts_opus.append((encoded - started) / seconds)
    print(rtf("text-to-speech real-time factor (Piper)", tts) + "  (target <= 0.05)")
    print(rtf("  with Ogg/Opus voice-message encoding", tts_opus))

    # 3. First sentence -> first Opus frame
    assert load_opus(), "libopus is needed"
    encoder = discord.opus.Encoder()
    latencies = []
    for _ in range(4):
        for sentence in SENTENCES:
            stream = SpeechStream(speaker)
            started = time.perf_counter()
            stream.say(sentence)
            frame = SILENCE
            while frame == SILENCE:
                frame = stream.read(wait_s=0.001)
            encoder.encode(frame, 960)
            latencies.append((time.perf_counter() - started) * 1000)
            stream.stop()
    print(summary("first sentence -> first Opus frame", latencies) + "  (target <= 300 ms)")
    print(f"  worst: {percentile(latencies, 100):.0f} ms")


if __name__ == "__main__":
    main()
