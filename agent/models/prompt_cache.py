"""llama.cpp's prompt cache, kept on disk: a new process starts from the last one's evaluated tokens.

Reading a prompt is most of a small model's first answer on a CPU (~10 ms a token on 2 cores, and a
system prompt with example messages is ~300 tokens). Like llama.cpp's own `--prompt-cache FILE`, the
tokens a model last read, and its KV cache for them, are written after each completion; the next
process that loads the same file with the same window restores them, and llama.cpp reads only what
differs from there (its longest-prefix match). It is a cache: a missing, stale or damaged file is
ignored and rewritten, never an error.

File: `<cache_dir>/prompt-cache/<key>.bin`, the key naming the model file (path, size, mtime), the
window and llama.cpp's version, so a changed model or library never reads another's state. Layout:
magic, token count (uint32), tokens (int32 each), then llama.cpp's state bytes. ~12 KB a token for
Qwen2.5-0.5B, so at most ~50 MB for a 4,096-token window.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import logging
import os
import struct
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

MAGIC = b"OBSPC1\0\0"


def cache_file(cache_dir: Path, model_path: str, n_ctx: int, adapter: str = "") -> Path | None:
    """Where the prompt cache of this model (with this LoRA adapter, if any) and window lives; None when
    a file is unreadable. (An adapter changes every layer's output: the base's cache is not its.)"""
    import llama_cpp

    parts = []
    for path in (model_path, adapter) if adapter else (model_path,):
        try:
            stat = os.stat(path)
        except OSError:
            return None
        parts.append(f"{os.path.abspath(path)}|{stat.st_size}|{stat.st_mtime_ns}")
    key = f"{'|'.join(parts)}|{n_ctx}|{llama_cpp.__version__}"
    return cache_dir / "prompt-cache" / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.bin"


def restore(llama: Any, path: Path) -> int:
    """Load the saved tokens and their KV cache into a freshly loaded model; how many tokens (0: none)."""
    try:
        data = path.read_bytes()
    except OSError:
        return 0
    try:
        if not data.startswith(MAGIC):
            raise ValueError("not a prompt cache")
        (count,) = struct.unpack_from("<I", data, len(MAGIC))
        start = len(MAGIC) + 4
        tokens = np.frombuffer(data, dtype=np.int32, count=count, offset=start)
        state = data[start + 4 * count :]
        if not 0 < count <= llama.n_ctx() or not state:
            raise ValueError("empty or larger than the window")
        buffer = (ctypes.c_uint8 * len(state)).from_buffer_copy(state)
        import llama_cpp

        if llama_cpp.llama_state_set_data(llama.ctx, buffer, len(state)) != len(state):
            raise ValueError("llama.cpp refused the state")
    except (ValueError, struct.error) as exc:
        log.info("prompt cache %s not used (%s); it will be rewritten", path.name, exc)
        llama.reset()
        with contextlib.suppress(OSError):
            path.unlink()
        return 0
    llama.input_ids[:count] = tokens
    llama.n_tokens = count
    # The restored logits are not a live decode: llama-cpp-python then re-reads at least one token.
    llama._requires_eval = True
    return int(count)


def save(llama: Any, path: Path) -> None:
    """Write what the model has read so far (atomically: a reader never sees half a file)."""
    import llama_cpp

    count = int(llama.n_tokens)
    if count == 0:
        return
    size = llama_cpp.llama_state_get_size(llama.ctx)
    buffer = (ctypes.c_uint8 * int(size))()
    written = int(llama_cpp.llama_state_get_data(llama.ctx, buffer, size))
    header = MAGIC + struct.pack("<I", count) + np.asarray(llama.input_ids[:count], dtype=np.int32).tobytes()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(header)
                out.write(memoryview(buffer)[:written])
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as exc:  # a full or read-only disk: the next start reads the prompt again, that is all
        log.info("prompt cache not written: %s", exc)
