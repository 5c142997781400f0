"""Loading llama.cpp models: one loaded model per (file, window, threads) per process, closed before the
interpreter tears down, with llama.cpp's load notes kept off the console."""

from __future__ import annotations

import atexit
import contextlib
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from agent.models.bundled import DEFAULT, assemble, bundled

# llama.cpp contexts are not thread-safe: one generation at a time per loaded model.
LOCKS: dict[str, threading.Lock] = {}


def bundled_model_path(cache_dir: Path, key: str = DEFAULT.key) -> Path:
    """The bundled model's GGUF, assembled and verified in `cache_dir` on first use."""
    entry = bundled(key) or DEFAULT
    return assemble(entry, cache_dir)


def _silence_llama_logs() -> None:
    """llama.cpp writes load notes to stderr even with verbose=False; they would litter the console."""
    import ctypes

    import llama_cpp

    @llama_cpp.llama_log_callback  # type: ignore[misc]
    def _drop(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        return None

    _silence_llama_logs.callback = _drop  # type: ignore[attr-defined]  # keep a reference alive
    llama_cpp.llama_log_set(_drop, ctypes.c_void_p())


class _DropThisThread:
    """sys.stderr for everyone but the thread that is loading a model."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.loader = threading.get_ident()

    def write(self, text: str) -> int:
        return len(text) if threading.get_ident() == self.loader else int(self.stream.write(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


@contextlib.contextmanager
def _quiet_thread() -> Iterator[None]:
    proxy = _DropThisThread(sys.stderr)
    sys.stderr = proxy
    try:
        yield
    finally:
        if sys.stderr is proxy:
            sys.stderr = proxy.stream


def _close_loaded_models() -> None:
    # llama.cpp's own destructor fails if it runs during interpreter teardown; close first.
    for model in _LOADED:
        model.close()
    _LOADED.clear()


_LOADED: list[Any] = []


_MODELS: dict[tuple[str, str, int, int], Any] = {}
_LOAD_LOCK = threading.Lock()


def load_llama(
    path: str, n_ctx: int, n_threads: int, on_load: Callable[[Any], None] | None = None, *, lora_path: str = ""
) -> Any:
    """One loaded model per (file, LoRA adapter, window, threads) per process; a second caller waits for
    the first. `on_load` runs once on a freshly loaded model (e.g. to restore its prompt cache)."""
    key = (path, lora_path, n_ctx, n_threads)
    with _LOAD_LOCK:
        if key in _MODELS:
            return _MODELS[key]
        from llama_cpp import Llama

        _silence_llama_logs()
        if not _LOADED:
            atexit.register(_close_loaded_models)
        LOCKS.setdefault(path, threading.Lock())
        # verbose=False would make llama-cpp-python point file descriptors 1 and 2 at /dev/null for the
        # whole process while the file loads (its suppress_stdout_stderr): whatever the console printed
        # meanwhile, from any thread, was lost. Its C logs are already dropped (above); its Python
        # notes (metadata, system info) are dropped for this thread only.
        with _quiet_thread():
            model = Llama(
                model_path=path, lora_path=lora_path or None, n_ctx=n_ctx, n_threads=n_threads or None, verbose=True
            )
        model.verbose = False  # no per-call notes either
        if on_load is not None:
            on_load(model)
        _LOADED.append(model)
        _MODELS[key] = model
        return model
