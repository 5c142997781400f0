"""Conversations rendered with the base model's own chat template and cut into token sequences."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agent.training.local_lora.errors import TrainingFailed
from agent.training.local_lora.examples import ChatExample, Message, PreferenceExample


@dataclass(frozen=True)
class Sequence:
    """Token ids and, per id, whether the model is trained to predict it (assistant text and its end)."""

    ids: tuple[int, ...]
    learn: tuple[bool, ...]  # same length as ids

    def cut(self, max_tokens: int) -> Sequence:
        """The last `max_tokens` tokens (a long conversation keeps its latest answers)."""
        return Sequence(self.ids[-max_tokens:], self.learn[-max_tokens:])


@dataclass(frozen=True)
class Pair:
    """A DPO pair as two sequences sharing their prompt."""

    chosen: Sequence
    rejected: Sequence


def _render(tokenizer: Any, messages: list[Message], prompt: bool) -> str:
    return str(tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=prompt))


def _ids(tokenizer: Any, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def chat_sequence(tokenizer: Any, messages: list[Message], learn: list[bool]) -> Sequence:
    """The conversation's tokens; a learnt assistant message's tokens (through its end-of-turn token,
    not the newline after it) are marked.

    Raises TrainingFailed when the template does not render a conversation as the rendering of its
    first messages followed by more text (then answers could not be told apart from prompts).
    """
    ids: list[int] = []
    marks: list[bool] = []
    done = ""
    for i, message in enumerate(messages):
        if message["role"] == "assistant":
            head = _render(tokenizer, messages[:i], prompt=True)
            _extend(tokenizer, done, head, False, ids, marks)
            done = head
        upto = _render(tokenizer, messages[: i + 1], prompt=False)
        if learn[i]:
            body = upto[len(done) :]
            answer = body.rstrip("\n")
            _extend(tokenizer, done, done + answer, True, ids, marks)
            done += answer
        _extend(tokenizer, done, upto, False, ids, marks)
        done = upto
    return Sequence(tuple(ids), tuple(marks))


def _extend(tokenizer: Any, done: str, upto: str, learn: bool, ids: list[int], marks: list[bool]) -> None:
    if not upto.startswith(done):
        raise TrainingFailed("the base model's chat template renders a conversation's start differently")
    new = _ids(tokenizer, upto[len(done) :]) if len(upto) > len(done) else []
    ids.extend(new)
    marks.extend([learn] * len(new))


def pair_sequences(tokenizer: Any, example: PreferenceExample) -> Pair:
    """The prompt followed by each answer; only the answers (and their end-of-turn) are marked."""
    prompt = list(example.prompt)
    sequences = []
    for answer in (example.chosen, example.rejected):
        messages = [*prompt, {"role": "assistant", "content": answer}]
        learn = [False] * len(prompt) + [True]
        sequences.append(chat_sequence(tokenizer, messages, learn))
    return Pair(sequences[0], sequences[1])


def tokenize(tokenizer: Any, examples: list[ChatExample | PreferenceExample], max_tokens: int) -> list[Any]:
    """Every example as a `Sequence` (sft) or `Pair` (dpo), cut to `max_tokens` each.

    Raises TrainingFailed when no example keeps any token to learn after the cut.
    """
    out: list[Any] = []
    for example in examples:
        if isinstance(example, ChatExample):
            sequence = chat_sequence(tokenizer, list(example.messages), list(example.learn)).cut(max_tokens)
            if any(sequence.learn):
                out.append(sequence)
        else:
            pair = pair_sequences(tokenizer, example)
            pair = Pair(pair.chosen.cut(max_tokens), pair.rejected.cut(max_tokens))
            if any(pair.chosen.learn) and any(pair.rejected.learn):
                out.append(pair)
    if not out:
        raise TrainingFailed(f"no example has an answer within max_tokens={max_tokens}")
    return out
