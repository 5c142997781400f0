"""The local LoRA trainer: fine-tunes a bundled GGUF model on the CPU and writes a llama.cpp adapter.

Run as a separate process (`python -m agent.training.local_lora --job-dir DIR`, see `__main__`), so
training never blocks replies. DIR holds:

- `train.jsonl` (input): OpenAI's chat fine-tuning format, one `{"messages": [...]}` per line, or for
  `dpo` OpenAI's preference format `{"input": {"messages": [...]}, "preferred_output": [assistant],
  "non_preferred_output": [assistant]}`;
- `params.json` (input): `{"base": name, "method": "sft"|"dpo", "epochs": int, "threads": int}` and
  optional tuning keys (`params.JobParams`);
- `progress.jsonl` (appended): `{"step", "steps", "epoch", "loss"}` per optimizer step;
- `checkpoint/` (written after every step, resumed from when present and made from the same data);
- `adapter.gguf` and `result.json` (`{"adapter", "cpu_seconds", "steps", "resumed"}`) on success.

Needs the optional extra `train` (PyTorch, transformers, peft, gguf). transformers reads the bundled
Q4_K_M GGUF and dequantizes it to float32; LoRA is trained on it and written in llama.cpp's adapter
layout (`<base tensor>.lora_a` / `.lora_b`), which llama-cpp-python applies with `lora_path=`.
"""

from __future__ import annotations

from agent.training.local_lora.errors import TrainingFailed

__all__ = ["TrainingFailed"]
