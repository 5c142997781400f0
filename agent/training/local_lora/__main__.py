"""`python -m agent.training.local_lora --job-dir DIR`: exit 0 with DIR/result.json written, 1 with one
line on stderr saying why not (2 for a wrong command line), 3 when another trainer holds DIR."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no lock (the job runner starts one trainer per job anyway)
    fcntl = None  # type: ignore[assignment]


@contextlib.contextmanager
def _only_trainer(job_dir: Path) -> Iterator[bool]:
    """True while this process alone holds DIR/.trainer.lock (released when it exits, even by kill -9)."""
    if fcntl is None:
        yield True
        return
    with (job_dir / ".trainer.lock").open("a") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        yield True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agent.training.local_lora", description=__doc__)
    parser.add_argument("--job-dir", type=Path, required=True, help="holds train.jsonl and params.json")
    parser.add_argument("--verbose", action="store_true", help="notes (load time, resume) on stderr")
    args = parser.parse_args(argv)
    job_dir: Path = args.job_dir
    if not job_dir.is_dir():
        print(f"local LoRA training failed: {job_dir} is not a folder", file=sys.stderr)
        return 1
    warnings.filterwarnings("ignore")
    # transformers' GGUF reader draws a tqdm bar on stderr whatever its own verbosity; tqdm reads this
    # when it is first imported, which is after this line.
    os.environ.setdefault("TQDM_DISABLE", "1")

    def note(text: str) -> None:
        if args.verbose:
            print(text, file=sys.stderr, flush=True)

    with _only_trainer(job_dir) as alone:
        if not alone:
            print(f"local LoRA training failed: another trainer is running in {job_dir}", file=sys.stderr)
            return 3
        try:
            from agent.training.local_lora.errors import TrainingFailed
            from agent.training.local_lora.train import run_job
        except ImportError as exc:
            print(
                f"local LoRA training failed: {exc.name or exc} is not installed; "
                "install the extra with `pip install 'observer-bot[train]'`",
                file=sys.stderr,
            )
            return 1
        try:
            run_job(job_dir, note)
        except TrainingFailed as exc:
            print(f"local LoRA training failed: {exc}", file=sys.stderr)
            return 1
        except MemoryError:
            print("local LoRA training failed: out of memory (try a smaller max_tokens or batch_size)", file=sys.stderr)
            return 1
        except Exception as exc:
            line = " ".join(str(exc).split())[:300]
            print(f"local LoRA training failed: {type(exc).__name__}: {line}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
