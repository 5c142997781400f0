"""One streamed reply from a model that may reason: the answer goes to the member, the reasoning never
does (unless the operator chose a short summary), and the door hears that the model is thinking.

Also what a reasoning-only result gets: one retry with more room (twice the tokens, within the context
window) and lower effort (`reasoning_effort: "low"`, which OpenAI, vLLM, LM Studio and Ollama read and
llama.cpp ignores), else a note naming the cause.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agent.models.config import ModelSpec
from agent.models.reasoning import ThinkSplitter, reasoning_in, split_text, summary
from agent.stream import Thinking, Token

Writer = Callable[[Any], None]


@dataclass
class ReplyReader:
    """Reads one stream's chunks; writes the answer's tokens and the thinking events."""

    writer: Writer
    spec: ModelSpec
    inside: bool = False  # the model's chat template opens a think block: the stream starts inside it
    parts: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    answer_pieces: int = 0
    reasoning_pieces: int = 0
    opened_inside: bool = False  # learned: this stream began inside a block (a lone closing tag came)
    _splitter: ThinkSplitter = field(init=False)
    _told_thinking: bool = False
    _summary_due: bool = True

    def __post_init__(self) -> None:
        self._splitter = ThinkSplitter(inside=self.inside)

    @property
    def text(self) -> str:
        return "".join(self.parts)

    @property
    def thought(self) -> str:
        return "".join(self.reasoning)

    def feed(self, chunk: Any) -> bool:
        """One chunk; True when it carried answer text or reasoning (it counts as at least one token)."""
        carried = False
        field_reasoning = reasoning_in(chunk)
        if field_reasoning:
            self.reasoning.append(field_reasoning)
            self.reasoning_pieces += 1
            carried = True
            self._thinking()
        text = chunk.text if isinstance(chunk.text, str) else ""
        if text:
            before = self.answer_pieces + self.reasoning_pieces
            self._take(self._splitter.feed(text))
            if self.answer_pieces + self.reasoning_pieces == before:
                self.reasoning_pieces += 1  # held back (a partial tag, a block not yet closed): still a token
            if self._splitter.in_reasoning:
                self._thinking()
            carried = True
        return carried

    def close(self, *, truncated: bool) -> None:
        self._take(self._splitter.close(truncated=truncated))

    def _take(self, pieces: list[Any]) -> None:
        for piece in pieces:
            if piece.kind == "reasoning":
                self.reasoning.append(piece.text)
                self.reasoning_pieces += 1
                self._thinking()
            elif piece.kind == "retract":
                taken = self.text
                self.parts.clear()
                self.reasoning.insert(0, taken)
                self.opened_inside = True
                self._summary_due = True
                self.writer(Thinking(retract=len(taken)))
            else:
                if self._summary_due:
                    self._summary_due = False
                    shown = self._summary()
                    if shown:
                        self.writer(Token(text=shown))
                self.parts.append(piece.text)
                self.answer_pieces += 1
                self.writer(Token(text=piece.text))

    def _thinking(self) -> None:
        if not self._told_thinking:
            self._told_thinking = True
            self.writer(Thinking())

    def _summary(self) -> str:
        """The operator's choice of showing a glimpse of the reasoning before the answer."""
        thought = self.thought.strip()
        if self.spec.show_reasoning == "off" or not thought:
            return ""
        short = summary(thought, self.spec.reasoning_summary_chars)
        return f"||💭 {short}||\n" if self.spec.show_reasoning == "spoiler" else f"-# 💭 {short}\n"


def only_reasoning(text: str, tool_calls: bool, thought: str, reasoning_tokens: int) -> bool:
    return not text.strip() and not tool_calls and bool(thought.strip() or reasoning_tokens)


def roomier(spec: ModelSpec, limit: int, tokens_in: int) -> tuple[int, dict[str, Any]]:
    """The retry's token limit and request fields: twice the room (within the context window), low effort."""
    room = max(limit, min(limit * 2, spec.context_window - tokens_in - 16))
    fields: dict[str, Any] = {"reasoning_effort": "low"}
    if spec.token_limit_field() == "max_completion_tokens":
        fields["max_completion_tokens"] = room
    else:
        fields["extra_body"] = {"max_tokens": room}
    return room, fields


def thought_only(message: Any) -> bool:
    """An unstreamed reply cut at its limit while still reasoning: no answer, only thought."""
    if message is None or (getattr(message, "response_metadata", None) or {}).get("finish_reason") != "length":
        return False
    answer, inline = split_text(str(message.content or ""))
    details = (getattr(message, "usage_metadata", None) or {}).get("output_token_details") or {}
    return not answer.strip() and bool(inline or reasoning_in(message) or details.get("reasoning"))


def roomier_model(model: Any, spec: ModelSpec, tokens_in: int) -> Any:
    """The same unstreamed client with the retry's room and effort (structured output binds its own
    arguments, so the client is copied rather than bound)."""
    current = getattr(model, "max_tokens", None) or (getattr(model, "extra_body", None) or {}).get("max_tokens")
    room, fields = roomier(spec, int(current or spec.max_output_tokens), tokens_in)
    update: dict[str, Any] = {"reasoning_effort": fields["reasoning_effort"]}
    if "max_completion_tokens" in fields:
        update["max_tokens"] = room  # ChatOpenAI's field for max_completion_tokens
    else:
        update["extra_body"] = {**(getattr(model, "extra_body", None) or {}), "max_tokens": room}
    return model.model_copy(update=update)
