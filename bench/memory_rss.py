"""Resident memory of `observer chat` with the local model, embedding model and Chroma loaded (issue A: report).

Starts the real console as a user would, sends one message that makes the bundled Gemma model
answer, then reads the process's resident set size from /proc before quitting.

    .venv/bin/python -m bench.memory_rss
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.child_env import user_env


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="observer-rss-") as tmp:
        env = user_env()
        env["OBSERVER_DATA_DIR"] = str(Path(tmp) / "data")
        proc = subprocess.Popen(
            [sys.executable, "-m", "command_line", "chat"],
            cwd=tmp,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdin is not None and proc.stdout is not None
        started = time.perf_counter()
        proc.stdout.readline()  # banner: services are up (database, Chroma, embeddings)
        idle = rss_mib(proc.pid)
        proc.stdin.write("@Observer hello, who are you?\n")
        proc.stdin.flush()
        reply = proc.stdout.readline().strip()
        loaded = rss_mib(proc.pid)
        elapsed = time.perf_counter() - started
        proc.stdin.write("/quit\n")
        proc.stdin.flush()
        proc.wait(timeout=60)
    print(f"observer chat RSS before the first message: {idle:.0f} MiB")
    print(f"observer chat RSS with local model, embeddings and Chroma loaded: {loaded:.0f} MiB")
    print(f"(start + first reply took {elapsed:.1f} s; reply: {reply[:80]!r})")


if __name__ == "__main__":
    main()
