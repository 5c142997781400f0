"""The base model: its GGUF file found (the bundled one assembled on first use) and loaded for training."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from agent.errors import ConfigError
from agent.models.bundled import assemble, bundled
from agent.training.local_lora.errors import TrainingFailed


def models_dir(configured: str) -> Path:
    """Where bundled models are assembled: `configured`, else the settings' data dir / models."""
    if configured:
        return Path(configured)
    from agent.settings import Settings

    try:
        return Settings().data_dir / "models"
    except Exception as exc:  # pydantic's ValidationError or a ConfigError: one line either way
        raise TrainingFailed(f"the settings cannot be read to find the data dir: {exc}") from exc


def gguf_path(base: str, configured_models_dir: str) -> Path:
    """The GGUF file of `base`: a bundled model's key or file name, or a path to a `.gguf` file.

    Raises TrainingFailed when the name is neither, or the bundled model cannot be assembled.
    """
    entry = bundled(base)
    if entry is not None:
        if entry.chat_format != "template":
            raise TrainingFailed(f"{entry.key} is a base model without a chat template; it cannot be tuned on chats")
        try:
            return assemble(entry, models_dir(configured_models_dir))
        except ConfigError as exc:
            raise TrainingFailed(str(exc)) from exc
    path = Path(base)
    if path.suffix == ".gguf" and path.is_file():
        return path
    raise TrainingFailed(f"base {base!r} is not a bundled model nor a .gguf file")


def quiet_libraries() -> None:
    """transformers' warnings and progress bars off stderr (the job's failure line is its last line)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import transformers

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


def load(path: Path) -> tuple[Any, Any]:
    """(tokenizer, float32 causal LM) read from the GGUF file, dequantized by transformers.

    Takes ~50 s and ~3.8 GB for the bundled 0.5B Q4_K_M on 2 cores. Raises TrainingFailed when
    transformers cannot read the file's architecture.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
        model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32)
    except (ValueError, OSError, KeyError) as exc:
        raise TrainingFailed(f"transformers cannot load {path.name} for training: {exc}") from exc
    if tokenizer.chat_template is None:
        raise TrainingFailed(f"{path.name} has no chat template to render the training chats with")
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token_id = tokenizer.eos_token_id
    return tokenizer, model
