"""The trained LoRA written as a llama.cpp adapter GGUF for the base file it was trained from.

llama.cpp's layout (its convert_lora_to_gguf.py): `general.type` "adapter", `adapter.type` "lora",
`adapter.lora.alpha`, the base's `general.architecture`, and per adapted weight `<base tensor>.lora_a`
(rank × in) and `.lora_b` (out × rank), float32. llama.cpp scales by alpha / rank, as peft does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from agent.training.local_lora.errors import TrainingFailed


def _base_shapes(base: Path) -> tuple[str, int, dict[str, tuple[int, int]]]:
    """(architecture, block count, {tensor name: (in, out)}) of the base GGUF's 2-D tensors."""
    import gguf

    reader = gguf.GGUFReader(str(base))
    arch_field = reader.fields["general.architecture"]
    arch = str(arch_field.contents())
    blocks = int(reader.fields[f"{arch}.block_count"].contents())
    shapes = {t.name: (int(t.shape[0]), int(t.shape[1])) for t in reader.tensors if len(t.shape) == 2}
    return arch, blocks, shapes


def lora_tensors(model: Any) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(module name as transformers names it, A (rank, in), B (out, rank)) for every LoRA layer of a
    peft model, A and B as float32 arrays."""
    from peft.tuners.lora import LoraLayer

    out = []
    for name, module in model.named_modules():
        layer: Any = module
        if isinstance(module, LoraLayer) and "default" in layer.lora_A:
            a = layer.lora_A["default"].weight.detach().float().contiguous().numpy()
            b = layer.lora_B["default"].weight.detach().float().contiguous().numpy()
            out.append((name.removeprefix("base_model.model."), a, b))
    return out


def write_adapter(model: Any, base: Path, alpha: float, target: Path) -> None:
    """Writes `target` (through a temporary file) from the peft `model` trained on `base`.

    Raises TrainingFailed when a LoRA layer has no tensor of matching shape in the base file.
    """
    import gguf

    arch, blocks, shapes = _base_shapes(base)
    names = {v: k for k, v in gguf.MODEL_ARCH_NAMES.items()}
    if arch not in names:
        raise TrainingFailed(f"the gguf library does not know the architecture {arch!r}")
    name_map = gguf.get_tensor_name_map(names[arch], blocks)
    partial = target.with_name(target.name + ".partial")
    writer = gguf.GGUFWriter(str(partial), arch)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(alpha))
    tensors = lora_tensors(model)
    if not tensors:
        raise TrainingFailed("the trained model has no LoRA layers to write")
    for module, a, b in tensors:
        name = name_map.get_name(module + ".weight", try_suffixes=(".weight",))
        if name is None or name not in shapes:
            raise TrainingFailed(f"{module} has no tensor in {base.name} to adapt")
        if shapes[name] != (a.shape[1], b.shape[0]):
            raise TrainingFailed(f"{module}: LoRA {a.shape[1]}→{b.shape[0]} does not fit {name} {shapes[name]}")
        writer.add_tensor(f"{name}.lora_a", a)
        writer.add_tensor(f"{name}.lora_b", b)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    partial.replace(target)
