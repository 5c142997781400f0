"""`train.jsonl`: OpenAI's fine-tuning formats read into conversations (no tokenizer needed here)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.training.local_lora.errors import TrainingFailed
from agent.training.local_lora.params import Method

Message = dict[str, str]  # {"role": "system"|"user"|"assistant", "content": text}
ROLES = ("system", "user", "assistant")


@dataclass(frozen=True)
class ChatExample:
    """A supervised conversation: every assistant message with weight != 0 is learnt."""

    messages: tuple[Message, ...]
    learn: tuple[bool, ...]  # per message: train on it (assistant messages only)


@dataclass(frozen=True)
class PreferenceExample:
    """A DPO pair: after `prompt`, `chosen` is preferred to `rejected` (assistant texts)."""

    prompt: tuple[Message, ...]
    chosen: str
    rejected: str


def _messages(raw: Any, where: str) -> tuple[tuple[Message, ...], tuple[bool, ...]]:
    if not isinstance(raw, list) or not raw:
        raise TrainingFailed(f"{where}: 'messages' must be a non-empty list")
    messages: list[Message] = []
    learn: list[bool] = []
    for i, message in enumerate(raw):
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            raise TrainingFailed(f"{where}: message {i + 1} needs a role of {', '.join(ROLES)}")
        content = message.get("content")
        if not isinstance(content, str):
            raise TrainingFailed(f"{where}: message {i + 1} needs text content")
        messages.append({"role": message["role"], "content": content})
        learn.append(message["role"] == "assistant" and message.get("weight", 1) != 0)
    return tuple(messages), tuple(learn)


def _assistant_text(raw: Any, key: str, where: str) -> str:
    if not isinstance(raw, list) or len(raw) != 1 or not isinstance(raw[0], dict):
        raise TrainingFailed(f"{where}: {key!r} must be a list of one assistant message")
    if raw[0].get("role") != "assistant" or not isinstance(raw[0].get("content"), str):
        raise TrainingFailed(f"{where}: {key!r} must be one assistant message with text content")
    return str(raw[0]["content"])


def parse_line(row: Any, method: Method, where: str) -> ChatExample | PreferenceExample:
    """One decoded line as the method's example; TrainingFailed names `where` and what is wrong."""
    if not isinstance(row, dict):
        raise TrainingFailed(f"{where}: each line must be one JSON object")
    if method == "sft":
        messages, learn = _messages(row.get("messages"), where)
        if not any(learn):
            raise TrainingFailed(f"{where}: no assistant message to learn")
        return ChatExample(messages, learn)
    source = row.get("input")
    if not isinstance(source, dict):
        raise TrainingFailed(f"{where}: a preference line needs 'input': {{'messages': [...]}}")
    prompt, _ = _messages(source.get("messages"), where)
    if prompt[-1]["role"] == "assistant":
        raise TrainingFailed(f"{where}: the input must end with a user (or system) message")
    chosen = _assistant_text(row.get("preferred_output"), "preferred_output", where)
    rejected = _assistant_text(row.get("non_preferred_output"), "non_preferred_output", where)
    return PreferenceExample(prompt, chosen, rejected)


def read_examples(path: Path, method: Method) -> list[ChatExample | PreferenceExample]:
    """Every non-blank line of `path`, in order.

    Raises TrainingFailed (with the line number) for a missing file, bad JSON, a line of the wrong
    format for `method`, or a file with no example.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise TrainingFailed(f"{path} is missing") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise TrainingFailed(f"train.jsonl cannot be read: {exc}") from exc
    examples: list[ChatExample | PreferenceExample] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"train.jsonl line {number}"
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise TrainingFailed(f"{where}: not JSON ({exc.args[0] if exc.args else exc})") from exc
        examples.append(parse_line(row, method, where))
    if not examples:
        raise TrainingFailed("train.jsonl has no examples")
    return examples
