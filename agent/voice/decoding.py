"""Decoding a member's audio file, bounded and tolerant.

Bounded: the container's stated duration is read first (a file that says it is longer than the cap
is refused before any decoding), but that is not trusted: decoding streams packet by packet and
stops as soon as the decoded audio passes the cap, counted both in input seconds and in output
samples. Output goes into one float32 buffer that grows to at most `max_seconds` × `rate` samples,
so a 3.9 MB Opus file of two hours (whose client-reported duration says one second) or a 4 MB FLAC
of six hours of silence costs no more memory than the cap.

Tolerant: a damaged packet is skipped and counted (ffmpeg's players do the same and go on), a
change of sample rate or channel layout mid-file rebuilds the resampler, and the file is refused
only when nothing decodable remains.
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from agent.voice.audio_errors import AudioError, AudioTooLong
from agent.voice.rates import WHISPER_RATE

if TYPE_CHECKING:  # PyAV is loaded by the first file decoded, not by the bot's start
    import av

__all__ = ["AudioError", "AudioTooLong", "decode"]

log = logging.getLogger(__name__)

# Demuxer errors tolerated before a file is called undecodable (each one skips some bytes).
MAX_DEMUX_ERRORS = 64
_FIRST_BLOCK_S = 30.0


@dataclass
class DecodeReport:
    """What decoding met on the way (counts only, never content)."""

    packets: int = 0
    damaged: int = 0
    demux_errors: int = 0
    format_changes: int = 0
    formats: list[tuple[str, str, int]] = field(default_factory=list)


def stated_duration(container: av.container.InputContainer, stream: av.stream.Stream) -> float | None:
    """The longest duration the container or the stream states, in seconds (None if neither says)."""
    found: list[float] = []
    if container.duration:
        found.append(float(container.duration) / 1_000_000)
    if stream.duration and stream.time_base:
        found.append(float(stream.duration * stream.time_base))
    return max(found) if found else None


class _Buffer:
    """float32 samples, growing by doubling up to a hard capacity; past it the audio is too long."""

    def __init__(self, capacity: int, max_seconds: float) -> None:
        self._capacity = capacity
        self._max_seconds = max_seconds
        self._data = np.empty(min(capacity, int(_FIRST_BLOCK_S * WHISPER_RATE)), dtype=np.float32)
        self.size = 0

    def add(self, samples: np.ndarray) -> None:
        end = self.size + samples.size
        if end > self._capacity:
            raise AudioTooLong(self._max_seconds, "found while decoding")
        if end > self._data.size:
            grown = np.empty(min(self._capacity, max(end, 2 * self._data.size)), dtype=np.float32)
            grown[: self.size] = self._data[: self.size]
            self._data = grown
        self._data[self.size : end] = samples
        self.size = end

    def result(self) -> np.ndarray:
        return self._data[: self.size].copy() if self.size < self._data.size // 2 else self._data[: self.size]


def _packets(
    container: av.container.InputContainer, stream: av.stream.Stream, report: DecodeReport
) -> Iterator[av.Packet]:
    """The stream's packets; a demuxer error skips ahead instead of ending the file."""
    import av

    while True:
        try:
            yield from container.demux(stream)
            return
        except av.EOFError:
            return
        except (av.FFmpegError, OSError) as exc:
            report.demux_errors += 1
            if report.demux_errors > MAX_DEMUX_ERRORS:
                raise AudioError(f"the audio could not be decoded ({type(exc).__name__})") from None


def decode(data: bytes, max_seconds: float, rate: int = WHISPER_RATE) -> np.ndarray:
    """Any audio file as float32 mono samples in [-1, 1] at `rate`, at most `max_seconds` long.

    Raises AudioTooLong past the cap (nothing more than the cap is ever held), AudioError when the
    file holds no decodable audio."""
    import av

    report = DecodeReport()
    capacity = math.ceil(max_seconds * rate)
    out = _Buffer(capacity, max_seconds)
    heard_s = 0.0
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            stream = next((s for s in container.streams if s.type == "audio"), None)
            if stream is None:
                raise AudioError("the file has no audio track")
            stated = stated_duration(container, stream)
            if stated is not None and stated > max_seconds + 1.0:
                raise AudioTooLong(max_seconds, f"the file says {stated:.0f} s")
            resampler: av.AudioResampler | None = None
            shape: tuple[str, str, int] | None = None
            for packet in _packets(container, stream, report):
                report.packets += 1
                try:
                    frames = packet.decode()
                except (av.FFmpegError, ValueError) as exc:
                    if isinstance(exc, av.EOFError):
                        break
                    report.damaged += 1
                    continue
                for frame in frames:
                    assert isinstance(frame, av.AudioFrame)
                    if frame.sample_rate <= 0 or frame.samples <= 0:
                        report.damaged += 1
                        continue
                    heard_s += frame.samples / frame.sample_rate
                    if heard_s > max_seconds + 0.5:
                        raise AudioTooLong(max_seconds, "found while decoding")
                    now = (frame.format.name, frame.layout.name, frame.sample_rate)
                    if now != shape:
                        if resampler is not None:  # a new format mid-file: drain the old resampler first
                            report.format_changes += 1
                            _drain(resampler, out)
                        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
                        shape = now
                        report.formats.append(now)
                    frame.pts = None
                    assert resampler is not None
                    for resampled in resampler.resample(frame):
                        out.add(resampled.to_ndarray().reshape(-1))
            if resampler is not None:
                _drain(resampler, out)
    except AudioError:
        raise
    except (av.FFmpegError, ValueError, OSError, StopIteration) as exc:
        if out.size == 0:
            raise AudioError(f"the audio could not be decoded ({type(exc).__name__})") from None
        report.damaged += 1  # what was decoded before the fault is kept
    if report.damaged or report.demux_errors or report.format_changes:
        log.info(
            "audio: %d damaged packet(s) and %d demuxer error(s) skipped, %d format change(s), of %d packets",
            report.damaged,
            report.demux_errors,
            report.format_changes,
            report.packets,
        )
    if out.size == 0:
        if report.damaged or report.demux_errors:
            raise AudioError(f"the audio could not be decoded ({report.damaged} damaged frames, none decodable)")
        raise AudioError("the file holds no audio samples")
    return out.result()


def _drain(resampler: av.AudioResampler, out: _Buffer) -> None:
    for resampled in resampler.resample(None):
        out.add(resampled.to_ndarray().reshape(-1))


def probe_duration(data: bytes) -> float | None:
    """The container's stated duration in seconds, without decoding (None when it does not say)."""
    import av

    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            stream = next((s for s in container.streams if s.type == "audio"), None)
            if stream is not None:
                return stated_duration(container, stream)
            if container.duration:
                return float(container.duration) / 1_000_000
    except (av.FFmpegError, ValueError, OSError):
        return None
    return None
