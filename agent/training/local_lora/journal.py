"""What the job's caller reads: `progress.jsonl` lines and, last of all, `result.json`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def append_progress(job_dir: Path, step: int, steps: int, epoch: float, loss: float) -> None:
    """One line `{"step", "steps", "epoch", "loss"}`: `epoch` counts passes done (fractional), `loss` is
    the step's (nats per learnt token for sft; the DPO loss for dpo)."""
    line = json.dumps({"step": step, "steps": steps, "epoch": round(epoch, 3), "loss": round(loss, 4)})
    with (job_dir / "progress.jsonl").open("a", encoding="utf-8") as out:
        out.write(line + "\n")


def write_atomically(path: Path, data: bytes) -> None:
    """`path` appears whole or not at all."""
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    partial.write_bytes(data)
    os.replace(partial, path)


def write_result(job_dir: Path, result: dict[str, Any]) -> None:
    """`result.json`: written after the adapter, so its presence means the job is done."""
    write_atomically(job_dir / "result.json", json.dumps(result).encode())
