"""`params.json`: what a job asks for, checked before any model is loaded."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from agent.training.local_lora.errors import TrainingFailed

Method = Literal["sft", "dpo"]


@dataclass(frozen=True)
class JobParams:
    """A job's settings. Required: base, method, epochs, threads; the rest have measured defaults.

    Defaults (2-core CPU, ~20 examples of ~70 tokens): LoRA rank 8 on every linear layer of the
    attention and MLP, alpha 16, learning rate 1e-3 (5e-4 for dpo), 4 sequences a step, sequences
    cut to their last 256 tokens, DPO beta 0.1.
    """

    base: str  # a bundled model's key or file name (agent/models/bundled.py), or a path to a .gguf
    method: Method
    epochs: int  # passes over train.jsonl, 1..100
    threads: int  # torch CPU threads, 1..256
    rank: int = 8
    alpha: int = 16  # LoRA scale is alpha / rank
    learning_rate: float = 0.0  # 0: the method's default
    batch_size: int = 4  # sequences per optimizer step (a DPO pair counts as one)
    max_tokens: int = 256  # per sequence, prompt and answer together
    beta: float = 0.1  # DPO only: how far the tuned model may move from the base
    seed: int = 0
    models_dir: str = ""  # where the bundled GGUF is assembled; empty: the settings' data dir / models

    @property
    def lr(self) -> float:
        """The learning rate used (per optimizer step, before warm-up and decay)."""
        if self.learning_rate > 0:
            return self.learning_rate
        return 5e-4 if self.method == "dpo" else 1e-3


_INTS = {
    "epochs": (1, 100),
    "threads": (1, 256),
    "rank": (1, 256),
    "alpha": (1, 4096),
    "batch_size": (1, 256),
    "max_tokens": (16, 8192),
    "seed": (0, 2**31),
}
_FLOATS = {"learning_rate": (0.0, 1.0), "beta": (0.0, 100.0)}


def _check(raw: dict[str, Any]) -> dict[str, Any]:
    for key in ("base", "method", "epochs", "threads"):
        if key not in raw:
            raise TrainingFailed(f"params.json: {key!r} is missing")
    if not isinstance(raw["base"], str) or not raw["base"]:
        raise TrainingFailed("params.json: 'base' must be a model name")
    if raw["method"] not in ("sft", "dpo"):
        raise TrainingFailed(f"params.json: method {raw['method']!r} is not 'sft' or 'dpo'")
    for key, (low, high) in _INTS.items():
        if key in raw and (type(raw[key]) is not int or not low <= raw[key] <= high):
            raise TrainingFailed(f"params.json: {key!r} must be a whole number from {low} to {high}")
    for key, (least, most) in _FLOATS.items():
        if key in raw and (type(raw[key]) not in (int, float) or not least <= raw[key] <= most):
            raise TrainingFailed(f"params.json: {key!r} must be a number from {least} to {most}")
    return raw


def load_params(job_dir: Path) -> JobParams:
    """Reads and checks `job_dir/params.json`; unknown keys are ignored (a newer caller's extras).

    Raises TrainingFailed naming the key when the file is missing, not JSON, or a value is out of range.
    """
    path = job_dir / "params.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise TrainingFailed(f"{path} is missing") from exc
    except (OSError, ValueError) as exc:
        raise TrainingFailed(f"params.json cannot be read: {exc}") from exc
    if not isinstance(raw, dict):
        raise TrainingFailed("params.json must be one JSON object")
    known = {name for name in JobParams.__dataclass_fields__}
    values = {k: v for k, v in _check(raw).items() if k in known}
    if "learning_rate" in values:
        values["learning_rate"] = float(values["learning_rate"])
    if "beta" in values:
        values["beta"] = float(values["beta"])
    return JobParams(**values)
