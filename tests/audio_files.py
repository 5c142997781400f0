"""Real audio files made with PyAV for the decoding tests and bench/decode_bombs.py: long silences
whose container lies about their length, a WAV whose header lies, an mp3 whose first frame lies about
the bit rate, an mp3 with one damaged frame, and an mp3 whose sample rate changes mid-file.

Long files are made by muxing one encoded packet of silence many times (encoding two hours of Opus
frame by frame takes a minute on a busy core; repeating a packet takes a second)."""

from __future__ import annotations

import io
import struct
from fractions import Fraction

import av
import numpy as np


def _encode(
    samples: np.ndarray, rate: int, codec: str, fmt: str, out_rate: int, bit_rate: int | None = None, **options: str
) -> bytes:
    """int16 mono samples encoded with `codec` in container `fmt` at `out_rate`."""
    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=out_rate, layout="mono", options=options)
        if bit_rate:
            stream.bit_rate = bit_rate
        frame = av.AudioFrame.from_ndarray(samples.astype(np.int16).reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = rate
        resampler = av.AudioResampler(format=stream.codec_context.format.name, layout="mono", rate=out_rate)
        for resampled in [*resampler.resample(frame), *resampler.resample(None)]:
            resampled.pts = None
            for packet in stream.encode(resampled):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buf.getvalue()


def mp3(samples: np.ndarray, rate: int, out_rate: int = 44_100, bit_rate: int = 64_000) -> bytes:
    """An mp3 (raw MPEG audio frames, no tags) of int16 mono samples."""
    return _encode(samples, rate, "libmp3lame", "mp3", out_rate, bit_rate, write_xing="0", id3v2_version="0")


def tone(seconds: float, rate: int = 16_000, hz: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * 32767 * np.sin(2 * np.pi * hz * t)).astype(np.int16)


def mp3_frames(data: bytes) -> list[tuple[int, int]]:
    """(offset, length) of each MPEG audio frame, read from the frame headers."""
    bitrates = {
        (1,): [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
        (2,): [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
    }
    rates = {3: [44_100, 48_000, 32_000], 2: [22_050, 24_000, 16_000], 0: [11_025, 12_000, 8_000]}
    frames: list[tuple[int, int]] = []
    at = 0
    while at + 4 <= len(data):
        header = int.from_bytes(data[at : at + 4], "big")
        if header >> 21 != 0x7FF:
            at += 1
            continue
        version = (header >> 19) & 3
        bitrate_index = (header >> 12) & 15
        rate_index = (header >> 10) & 3
        if version == 1 or bitrate_index in (0, 15) or rate_index == 3:
            at += 1
            continue
        kbps = bitrates[(1,) if version == 3 else (2,)][bitrate_index]
        rate = rates[version][rate_index]
        padding = (header >> 9) & 1
        length = (144 if version == 3 else 72) * kbps * 1000 // rate + padding
        frames.append((at, length))
        at += length
    return frames


def damage_one_frame(data: bytes) -> bytes:
    """The mp3 with the side information of one frame in the middle overwritten with 0xFF (its
    header kept): ffmpeg plays it with one warning, its decoder refuses that one frame."""
    frames = mp3_frames(data)
    offset, length = frames[len(frames) // 2]
    damaged = bytearray(data)
    damaged[offset + 4 : offset + 20] = b"\xff" * 16
    return bytes(damaged)


def silent_opus_ogg(seconds: float, stated_seconds: float | None = None) -> bytes:
    """Ogg/Opus silence of `seconds`, 120 ms packets at a few bytes each (about 0.5 kB/s). With
    `stated_seconds`, the page granule positions say that length instead (what a lying client or a
    crafted file does): the container then claims a short file."""
    rate = 48_000
    encoded = _encode(np.zeros(rate * 2, dtype=np.int16), rate, "libopus", "ogg", rate, 6_000, frame_duration="120")
    with av.open(io.BytesIO(encoded)) as source:
        src = source.streams.audio[0]
        packets = [bytes(p) for p in source.demux(src) if p.size]
        extradata = src.codec_context.extradata
    silence = packets[-2]
    count = int(seconds / 0.12)
    step = 5760 if stated_seconds is None else max(1, int(stated_seconds * rate / count))
    buf = io.BytesIO()
    with av.open(buf, "w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=rate, layout="mono")
        stream.codec_context.extradata = extradata
        stream.time_base = Fraction(1, rate)
        for i in range(count):
            packet = av.Packet(silence)
            packet.stream = stream
            packet.pts = packet.dts = i * step
            packet.duration = step
            packet.time_base = stream.time_base
            container.mux(packet)
    return buf.getvalue()


def silent_flac(seconds: float, rate: int = 8_000, stated_seconds: float | None = None) -> bytes:
    """FLAC silence, in the largest frames FLAC allows; with `stated_seconds`, STREAMINFO's sample
    count says that instead."""
    block = 65_535
    buf = io.BytesIO()
    with av.open(buf, "w", format="flac") as container:
        stream = container.add_stream("flac", rate=rate, layout="mono")
        zeros = np.zeros((1, block), dtype=np.int16)
        for start in range(0, int(seconds * rate), block):
            frame = av.AudioFrame.from_ndarray(zeros, format="s16", layout="mono")
            frame.sample_rate = rate
            frame.pts = start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    data = bytearray(buf.getvalue())
    if stated_seconds is not None:
        # STREAMINFO at byte 8: ... then 20 bits rate, 3 channels, 5 bits per sample, 36 total samples.
        (packed,) = struct.unpack(">Q", data[18:26])
        packed = (packed & ~((1 << 36) - 1)) | int(stated_seconds * rate)
        data[18:26] = struct.pack(">Q", packed)
    return bytes(data)


def lying_wav(real_seconds: float, header_rate: int, real_rate: int = 16_000) -> bytes:
    """A 16-bit mono WAV whose header states `header_rate` samples per second for data recorded at
    `real_rate`: at 8 Hz, 4 MB of samples claim days, and resampling them to 16 kHz would multiply
    them two thousand times."""
    pcm = np.zeros(int(real_seconds * real_rate), dtype="<i2").tobytes()
    header = b"RIFF" + struct.pack("<I", 36 + len(pcm)) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, header_rate, header_rate * 2, 2, 16)
    return header + b"data" + struct.pack("<I", len(pcm)) + pcm


def mp3_lying_bitrate(seconds: float) -> bytes:
    """An mp3 that opens with a few 320 kbps frames (so its length, estimated from the first frame's
    bit rate, looks short), then hours of 8 kbps 8 kHz frames of silence: the sample rate changes
    mid-file too."""
    loud = mp3(tone(2.0), 16_000, out_rate=48_000, bit_rate=320_000)
    quiet = mp3(np.zeros(8_000 * 4, dtype=np.int16), 8_000, out_rate=8_000, bit_rate=8_000)
    frames = mp3_frames(quiet)
    offset, length = frames[len(frames) // 2]
    frame = quiet[offset : offset + length]
    per_frame_s = 576 / 8_000
    return loud + frame * int(seconds / per_frame_s)
