"""How long `langgraph dev` takes to answer /ok on this machine (issue F: within 15 s).

Starts the real CLI (`--no-browser --no-reload`) three times, offline, and times each start.

    .venv/bin/python -m bench.langgraph_dev_ready
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def one_start() -> float:
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OBSERVER_")}
        env.update(OBSERVER_DATA_DIR=tmp, LANGGRAPH_CLI_NO_ANALYTICS="1")
        cli = Path(sys.executable).with_name("langgraph")
        started = time.perf_counter()
        proc = subprocess.Popen(
            [str(cli), "dev", "--no-browser", "--no-reload", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            while time.perf_counter() - started < 60:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/ok", timeout=1) as resp:
                        if resp.status == 200:
                            return time.perf_counter() - started
                except OSError:
                    time.sleep(0.05)
            return float("inf")
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)


def main() -> None:
    times = [one_start() for _ in range(3)]
    print("langgraph dev ready (answering /ok): " + ", ".join(f"{t:.1f} s" for t in times))


if __name__ == "__main__":
    main()
