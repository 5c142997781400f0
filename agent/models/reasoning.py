"""Reasoning models as they are: what they think is read from wherever servers put it, and kept apart
from the answer.

Servers put reasoning in different places:
- a delta/message field: `reasoning_content` (llama.cpp with --reasoning-format, DeepSeek, older vLLM,
  LM Studio), `reasoning` (Ollama's OpenAI API, OpenRouter, vLLM >= 0.10, newer LM Studio),
  `reasoning_details` (OpenRouter: a list of `reasoning.text` / `reasoning.summary` items), `thinking`;
- inline in the content, as `<think>…</think>` (Qwen3, DeepSeek R1 on llama.cpp without a reasoning
  parser), `<thinking>`, `<reasoning>` or Magistral's `[THINK]…[/THINK]`, with tags split anywhere across
  stream chunks; some chat templates open the block in the prompt, so the stream starts inside it and
  only a closing `</think>` shows.

`ThinkSplitter` turns streamed content into answer and reasoning pieces; `reasoning_of` reads the fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

# Inline blocks: opening tag -> closing tag.
TAGS: dict[str, str] = {
    "<think>": "</think>",
    "<thinking>": "</thinking>",
    "<reasoning>": "</reasoning>",
    "[THINK]": "[/THINK]",
}
CLOSERS = tuple(dict.fromkeys(TAGS.values()))
_ANY_TAG = tuple(TAGS) + CLOSERS
_LONGEST_TAG = max(len(tag) for tag in _ANY_TAG)
# Delta / message fields, first found wins (OpenRouter sends `reasoning` and `reasoning_details` alike).
REASONING_FIELDS = ("reasoning_content", "reasoning", "thinking")

Kind = Literal["answer", "reasoning", "retract"]


@dataclass
class Piece:
    """`answer`/`reasoning`: text of that kind, in order. `retract`: the answer given so far (`text`) was
    reasoning after all (a stream that began inside a think block): take it back."""

    kind: Kind
    text: str


def reasoning_of(payload: Mapping[str, Any] | None) -> str:
    """The reasoning text of one delta or message, from whichever field the server uses."""
    if not payload:
        return ""
    for name in REASONING_FIELDS:
        value = payload.get(name)
        if isinstance(value, str) and value:
            return value
    details = payload.get("reasoning_details")
    if isinstance(details, list):
        parts = []
        for item in details:
            if not isinstance(item, Mapping):
                continue
            # reasoning.text -> text, reasoning.summary -> summary; reasoning.encrypted carries no text.
            text = item.get("text") if item.get("type") != "reasoning.summary" else item.get("summary")
            if isinstance(text, str):
                parts.append(text)
        return "".join(parts)
    return ""


@dataclass
class ThinkSplitter:
    """Splits streamed content into answer and reasoning, whatever the chunking.

    `inside`: the stream starts inside a think block (a model known to have its block opened by the
    chat template); if it then ends without a closing tag, what it said was the answer after all.
    Leading whitespace of the answer is dropped (models put a blank line after `</think>`).
    """

    inside: bool = False
    _buf: str = ""
    _mode: Literal["answer", "reasoning"] = "answer"
    _seen_tag: bool = False
    _answer: list[str] = field(default_factory=list)  # answer given so far (a retract takes it back)
    _started_inside: bool = False
    _held_inside: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.inside:
            self._mode, self._started_inside = "reasoning", True

    @property
    def in_reasoning(self) -> bool:
        return self._mode == "reasoning"

    def feed(self, text: str) -> list[Piece]:
        self._buf += text
        out: list[Piece] = []
        if "<" not in self._buf and "[" not in self._buf:  # the usual chunk: no tag can start in it
            ready, self._buf = self._buf, ""
            self._emit(out, ready)
            return out
        while self._buf:
            targets = CLOSERS if self._mode == "reasoning" else _ANY_TAG
            at, tag = _earliest(self._buf, targets)
            if tag is None:
                keep = _partial_tail(self._buf, targets)
                ready, self._buf = self._buf[: len(self._buf) - keep], self._buf[len(self._buf) - keep :]
                self._emit(out, ready)
                break
            before, self._buf = self._buf[:at], self._buf[at + len(tag) :]
            self._emit(out, before)
            self._on_tag(out, tag)
        return out

    def close(self, *, truncated: bool = False) -> list[Piece]:
        """The stream ended: what was held back (a partial tag that never completed) goes where it was.

        `truncated`: it stopped at a limit, so a block opened by the template and never closed was
        still reasoning; otherwise such a block was the answer (this time the model did not think)."""
        out: list[Piece] = []
        rest, self._buf = self._buf, ""
        self._emit(out, rest)
        if self._started_inside and not self._seen_tag:
            said = "".join(self._held_inside)
            self._held_inside.clear()
            if truncated:
                out.append(Piece("reasoning", said))
            else:
                self._mode = "answer"
                self._emit(out, said)
        return [p for p in out if p.text]

    def _emit(self, out: list[Piece], text: str) -> None:
        if not text:
            return
        if self._mode == "reasoning":
            if self._started_inside and not self._seen_tag:
                self._held_inside.append(text)  # reasoning or answer: known at the closer or the end
            else:
                out.append(Piece("reasoning", text))
            return
        if not self._answer:
            text = text.lstrip()
            if not text:
                return
        self._answer.append(text)
        out.append(Piece("answer", text))

    def _on_tag(self, out: list[Piece], tag: str) -> None:
        if tag in TAGS and self._mode == "answer":
            self._mode, self._seen_tag = "reasoning", True
            return
        if self._mode == "reasoning":
            if self._started_inside and not self._seen_tag and self._held_inside:
                out.append(Piece("reasoning", "".join(self._held_inside)))
            self._held_inside.clear()
            self._mode, self._seen_tag = "answer", True
            return
        # A closing tag while answering.
        if not self._seen_tag:
            # Nothing was opened: the stream began inside a think block (opened by the chat template).
            self._seen_tag = True
            if self._answer:
                out.append(Piece("retract", "".join(self._answer)))
                self._answer.clear()
        # A stray closer after a finished block is dropped.


def _earliest(text: str, targets: tuple[str, ...]) -> tuple[int, str | None]:
    best, found = len(text) + 1, None
    for tag in targets:
        at = text.find(tag)
        if at != -1 and (at < best or (at == best and found is not None and len(tag) > len(found))):
            best, found = at, tag
    return best, found


def _partial_tail(text: str, targets: tuple[str, ...]) -> int:
    """How many characters at the end of `text` could be the start of a tag (held until the next chunk)."""
    tail = text[-_LONGEST_TAG:]
    if "<" not in tail and "[" not in tail:
        return 0
    longest = 0
    for tag in targets:
        for n in range(min(len(tag) - 1, len(text)), longest, -1):
            if text.endswith(tag[:n]):
                longest = n
                break
    return longest


def split_text(text: str, *, inside: bool = False, truncated: bool = False) -> tuple[str, str]:
    """A whole (unstreamed) content: its answer and its inline reasoning."""
    splitter = ThinkSplitter(inside=inside)
    answer: list[str] = []
    reasoning: list[str] = []
    for piece in [*splitter.feed(text), *splitter.close(truncated=truncated)]:
        if piece.kind == "answer":
            answer.append(piece.text)
        elif piece.kind == "reasoning":
            reasoning.append(piece.text)
        else:
            answer.clear()
            reasoning.insert(0, piece.text)
    return "".join(answer), "".join(reasoning)


def summary(reasoning: str, cap: int) -> str:
    """A short, one-paragraph glimpse of the reasoning for members: whitespace folded, at most `cap`
    characters, no `||` (it would end a spoiler early)."""
    text = " ".join(reasoning.split()).replace("||", "| |")
    return text if len(text) <= cap else text[: max(cap - 1, 1)].rstrip() + "…"


# Where a chunk or message carries reasoning sent in its own field (`reasoning_content`, as the
# OpenAI-compatible servers name it); read without importing the OpenAI client (a local-only run).
REASONING_KEY = "reasoning_content"


def reasoning_in(message: Any) -> str:
    """The reasoning a chunk or message carries in its own field (not inline in its content)."""
    kwargs = getattr(message, "additional_kwargs", None) or {}
    value = kwargs.get(REASONING_KEY)
    return value if isinstance(value, str) else ""
