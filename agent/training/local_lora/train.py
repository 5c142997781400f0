"""One job from start (or its last checkpoint) to `adapter.gguf` and `result.json`."""

from __future__ import annotations

import json
import math
import random
import resource
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from agent.training.local_lora import base_model, checkpoint, journal
from agent.training.local_lora.batches import dpo_loss, sequence_logprobs, sft_loss
from agent.training.local_lora.errors import TrainingFailed
from agent.training.local_lora.examples import read_examples
from agent.training.local_lora.gguf_adapter import write_adapter
from agent.training.local_lora.params import JobParams, load_params
from agent.training.local_lora.tokens import Pair, Sequence, tokenize

# Every linear layer of attention and MLP: measured on the bundled model, rank 8 on these learns two
# made-up facts from 20 chats in 4 epochs (q/v alone needs more epochs for the same held-out score).
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
WARMUP_STEPS = 2


def cpu_seconds() -> float:
    """User + system CPU time of this process so far, in seconds."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def learning_rate(params: JobParams, step: int, steps: int) -> float:
    """Linear warm-up over the first steps, then linear decay to a tenth at the last step."""
    warm = min(1.0, (step + 1) / WARMUP_STEPS)
    return params.lr * warm * max(0.1, 1.0 - step / steps)


def epoch_order(count: int, seed: int, epoch: int) -> list[int]:
    """The example order of an epoch: the same for a resumed run as for the run it resumes."""
    order = list(range(count))
    random.Random(seed * 1_000_003 + epoch).shuffle(order)
    return order


def attach_lora(model: Any, params: JobParams) -> Any:
    """The model wrapped by peft with fresh LoRA layers (B = 0: it starts as the base)."""
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=params.rank,
        lora_alpha=params.alpha,
        lora_dropout=0.0,
        target_modules=TARGETS,
        bias="none",
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)


def step_loss(model: Any, batch: list[Any], params: JobParams, pad_id: int) -> torch.Tensor:
    """The batch's loss: sft on `Sequence`s, DPO on `Pair`s (the reference is the base: LoRA off)."""
    if params.method == "sft":
        return sft_loss(model, batch, pad_id)
    sequences: list[Sequence] = [p.chosen for p in batch] + [p.rejected for p in batch]
    with torch.no_grad(), model.disable_adapter():
        reference = sequence_logprobs(model, sequences, pad_id)
    return dpo_loss(sequence_logprobs(model, sequences, pad_id), reference, params.beta)


def run_job(job_dir: Path, log: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Trains the job in `job_dir` and returns what was written to result.json.

    Raises TrainingFailed for bad input (params, train.jsonl, base model) or a failing export.
    """
    started_cpu = cpu_seconds()
    params = load_params(job_dir)
    examples = read_examples(job_dir / "train.jsonl", params.method)
    torch.set_num_threads(params.threads)
    torch.manual_seed(params.seed)
    base_file = base_model.gguf_path(params.base, params.models_dir)
    base_model.quiet_libraries()
    loaded = time.monotonic()
    tokenizer, model = base_model.load(base_file)
    log(f"loaded {base_file.name} in {time.monotonic() - loaded:.0f} s")
    data: list[Sequence] | list[Pair] = tokenize(tokenizer, examples, params.max_tokens)
    per_epoch = math.ceil(len(data) / params.batch_size)
    steps = per_epoch * params.epochs

    model = attach_lora(model, params)
    trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
    optimizer = torch.optim.AdamW(list(trainable.values()), lr=params.lr, weight_decay=0.0)
    folder = job_dir / "checkpoint"
    settings = asdict(params) | {"threads": 0, "models_dir": "", "examples": len(data)}
    print_ = checkpoint.fingerprint(job_dir, json.dumps(settings, sort_keys=True))
    saved = checkpoint.load(folder, print_)
    step, cpu_before = 0, 0.0
    if saved is not None:
        model.load_state_dict(saved.adapter, strict=False)
        optimizer.load_state_dict(saved.optimizer)
        step, cpu_before = saved.step, saved.cpu_seconds
        log(f"resumed from step {step} of {steps}")
    resumed = saved is not None

    model.train()
    pad_id = int(tokenizer.pad_token_id)
    while step < steps:
        began = time.monotonic()
        epoch, index = divmod(step, per_epoch)
        order = epoch_order(len(data), params.seed, epoch)
        batch = [data[i] for i in order[index * params.batch_size : (index + 1) * params.batch_size]]
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(params, step, steps)
        loss = step_loss(model, batch, params, pad_id)
        if not torch.isfinite(loss):
            raise TrainingFailed(f"the loss became {loss.item()} at step {step + 1}; try a lower learning_rate")
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        adapter = {n: p.detach().clone() for n, p in trainable.items()}
        spent = cpu_before + cpu_seconds() - started_cpu
        checkpoint.save(folder, checkpoint.Saved(step, spent, adapter, optimizer.state_dict()), print_)
        journal.append_progress(job_dir, step, steps, step / per_epoch, float(loss.item()))
        log(f"step {step}/{steps}: loss {loss.item():.4f} in {time.monotonic() - began:.1f} s")

    write_adapter(model, base_file, params.alpha, job_dir / "adapter.gguf")
    result = {
        "adapter": "adapter.gguf",
        "cpu_seconds": round(cpu_before + cpu_seconds() - started_cpu, 1),
        "steps": steps,
        "resumed": resumed,
    }
    journal.write_result(job_dir, result)
    return result
