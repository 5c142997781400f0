"""Audio in and out through PyAV (no ffmpeg binary): any container to 16 kHz mono for Whisper
(bounded, in agent/voice/decoding.py), PCM to Ogg/Opus 48 kHz mono for Discord voice messages."""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass

import numpy as np

from agent.voice.decoding import (  # noqa: F401  (re-exported: where callers have always found them)
    WHISPER_RATE,
    AudioError,
    AudioTooLong,
    decode,
    probe_duration,
)

OPUS_RATE = 48_000
WAVEFORM_POINTS = 256


@dataclass(frozen=True)
class VoiceClip:
    """An encoded voice message: Ogg/Opus bytes with what Discord shows next to it."""

    data: bytes
    duration_s: float
    waveform: str  # base64 of at most 256 amplitude bytes


def waveform(samples: np.ndarray, points: int = WAVEFORM_POINTS) -> str:
    """Discord's voice-message waveform: one 0-255 peak per slice, at most 256 slices, base64."""
    if samples.size == 0:
        return base64.b64encode(bytes([0])).decode()
    count = max(1, min(points, samples.size))
    slices = np.array_split(np.abs(samples.astype(np.float32)), count)
    peaks = np.array([s.max() if s.size else 0.0 for s in slices])
    top = float(peaks.max()) or 1.0
    return base64.b64encode(bytes(round(255 * float(p) / top) for p in peaks)).decode()


def encode_voice_message(samples: np.ndarray, rate: int, bitrate: int = 32_000) -> VoiceClip:
    """float32 or int16 mono samples to an Ogg/Opus 48 kHz mono voice message."""
    import av  # loaded by the first clip, not by the bot's start

    if samples.size == 0:
        raise ValueError("no samples to encode: a voice message needs at least one sound")
    if samples.dtype != np.int16:
        samples = (np.clip(samples, -1.0, 1.0) * 32767).astype(np.int16)
    out_buf = io.BytesIO()
    with av.open(out_buf, mode="w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=OPUS_RATE, layout="mono")
        stream.bit_rate = bitrate
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = rate
        resampler = av.AudioResampler(format="s16", layout="mono", rate=OPUS_RATE)
        for resampled in [*resampler.resample(frame), *resampler.resample(None)]:
            for packet in stream.encode(resampled):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    duration = samples.size / rate
    return VoiceClip(out_buf.getvalue(), round(math.ceil(duration * 100) / 100, 2), waveform(samples))


# Discord voice channels take 20 ms frames of 48 kHz 16-bit stereo PCM.
FRAME_SAMPLES = 960
FRAME_BYTES = FRAME_SAMPLES * 2 * 2


def to_discord_pcm(samples: np.ndarray, rate: int) -> bytes:
    """int16 mono samples to 48 kHz stereo s16 interleaved PCM (what discord.py's encoder takes)."""
    if samples.size == 0:
        return b""
    import av

    frame = av.AudioFrame.from_ndarray(samples.astype(np.int16).reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = rate
    resampler = av.AudioResampler(format="s16", layout="stereo", rate=OPUS_RATE)
    out = [f.to_ndarray().tobytes() for f in [*resampler.resample(frame), *resampler.resample(None)]]
    return b"".join(out)
