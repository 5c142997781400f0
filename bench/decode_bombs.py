"""Peak memory of decoding the worst audio uploads (issue R: goal under 300 MB over the idle process).

Each file is made with PyAV (tests/audio_files.py), written to a temporary folder, and decoded in a
fresh subprocess through agent.voice.decoding.decode with the default cap (OBSERVER_VOICE_MAX_SECONDS,
300 s). The child reads its resident set size before decoding (the idle figure: Python, PyAV, numpy
and the file's bytes loaded), resets the kernel's peak counter, decodes, and reports the peak over
idle. Prints figures, never fails on time.

    .venv/bin/python -m bench.decode_bombs
    .venv/bin/python -m bench.decode_bombs --code /path/to/other/checkout --limit-mb 2500
        (the same files through another checkout's decode(data), under an address-space limit)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tests.audio_files import damage_one_frame, lying_wav, mp3, mp3_lying_bitrate, silent_flac, silent_opus_ogg, tone

CHILD = r"""
import json, resource, sys, time
from pathlib import Path

def rss(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")

limit_mb = float(sys.argv[3])
if limit_mb > 0:
    resource.setrlimit(resource.RLIMIT_AS, (int(limit_mb * 2**20), int(limit_mb * 2**20)))
from agent.voice import audio
data = Path(sys.argv[1]).read_bytes()
max_seconds = float(sys.argv[2])
idle = rss("VmRSS")
try:
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
except OSError:
    pass
started = time.perf_counter()
try:
    try:
        samples = audio.decode(data, max_seconds)
    except TypeError:  # an older decode(data) without a cap
        samples = audio.decode(data)
    outcome = f"decoded {samples.size / 16000:.0f} s"
except MemoryError:
    outcome = "MemoryError (hit the address-space limit)"
except Exception as exc:
    outcome = f"{type(exc).__name__}: {exc}"
print(json.dumps({"idle": idle, "peak": rss("VmHWM"), "outcome": outcome, "seconds": time.perf_counter() - started}))
"""


def speech_like(seconds: float) -> np.ndarray:
    """A tone whose pitch wanders: something an encoder cannot shrink to nothing."""
    rate = 16_000
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * 32767 * np.sin(2 * np.pi * (300 + 100 * np.sin(t)) * t)).astype(np.int16)


UPLOADS: dict[str, Callable[[], bytes]] = {
    "2 h Opus whose pages say 1 s (client said 1 s)": lambda: silent_opus_ogg(7200, stated_seconds=1),
    "2 h Opus, honest container": lambda: silent_opus_ogg(7200),
    "6 h FLAC silence": lambda: silent_flac(6 * 3600),
    "6 h FLAC whose STREAMINFO says 1 s": lambda: silent_flac(6 * 3600, stated_seconds=1),
    "WAV whose header says 8 Hz (4 MB)": lambda: lying_wav(120, 8),
    "mp3, 320 kbps first frames then 2 h at 8 kbps (7 MB)": lambda: mp3_lying_bitrate(7200),
    "legit 5 min mp3 (at the cap)": lambda: mp3(speech_like(299), 16_000),
    "legit 1 min mp3 with one damaged frame": lambda: damage_one_frame(mp3(tone(60), 16_000)),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--code", type=Path, default=Path(__file__).resolve().parents[1], help="checkout to measure")
    parser.add_argument("--max-seconds", type=float, default=300.0)
    parser.add_argument("--limit-mb", type=float, default=0.0, help="address-space limit for each child (0: none)")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(args.code)}
    print(f"decode of {args.code} with a cap of {args.max_seconds:g} s; RSS in MiB")
    print(f"{'upload':58} {'bytes':>9} {'idle':>6} {'peak':>6} {'over idle':>9}  outcome")
    worst = 0.0
    with tempfile.TemporaryDirectory(prefix="observer-bombs-") as tmp:
        for name, make in UPLOADS.items():
            path = Path(tmp) / "upload"
            path.write_bytes(make())
            started = time.perf_counter()
            child = subprocess.run(
                [sys.executable, "-c", CHILD, str(path), str(args.max_seconds), str(args.limit_mb)],
                env=env,
                capture_output=True,
                text=True,
                cwd=tmp,
            )
            if child.returncode != 0 or not child.stdout.strip():
                tail = (child.stderr.strip().splitlines() or ["?"])[-1]
                print(f"{name:58} {path.stat().st_size:>9} child exited {child.returncode}: {tail[:80]}")
                continue
            got = json.loads(child.stdout.strip().splitlines()[-1])
            over = got["peak"] - got["idle"]
            worst = max(worst, over)
            print(
                f"{name:58} {path.stat().st_size:>9} {got['idle']:>6.0f} {got['peak']:>6.0f} {over:>9.0f}"
                f"  {got['outcome'][:60]} ({time.perf_counter() - started:.1f} s)"
            )
    print(f"worst peak over idle: {worst:.0f} MiB (goal: under 300 MiB)")


if __name__ == "__main__":
    main()
