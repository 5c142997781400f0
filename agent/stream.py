"""What the graph streams to a door while it runs: a small set of typed events.

Nodes write them with `runtime.stream_writer(...)`; doors read them with `reply_events`, which also
hands over each full state (LangGraph's "values" mode). A LangGraph server sends them as JSON with
their `kind`, so remote clients read the same protocol.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel


class Token(BaseModel):
    """A piece of the answer, in order."""

    kind: Literal["token"] = "token"
    text: str


class Notice(BaseModel):
    """A short status to show until the answer starts (replaced by it), e.g. a wait for a busy model."""

    kind: Literal["notice"] = "notice"
    text: str


class Thinking(BaseModel):
    """The model is reasoning: doors show that it is thinking, never what it thinks. `retract`: the last
    `retract` characters of this reply's streamed text were reasoning after all (a stream that began
    inside a think block the chat template opened): doors take them back."""

    kind: Literal["thinking"] = "thinking"
    retract: int = 0


class ReplyStart(BaseModel):
    """The answer is about to stream. `spoken`: it will also become a voice message (decided once)."""

    kind: Literal["reply_start"] = "reply_start"
    spoken: bool = False


class VoiceClip(BaseModel):
    """The answer as a voice message (Ogg/Opus), written to `path`."""

    kind: Literal["voice_clip"] = "voice_clip"
    path: str
    duration_s: float
    waveform: str  # base64 of at most 256 amplitude bytes, as Discord's voice messages want
    language: str


class ApprovalNeeded(BaseModel):
    """The run paused: a tool call that changes something waits for a member's verdict. `request` is
    agent.nodes.approve.ApprovalRequest as a dict (call_id, tool, arguments, asker_id, asker,
    admins_may_approve, timeout_s). The door asks, checks who answers, and resumes the run."""

    kind: Literal["approval"] = "approval"
    request: dict[str, Any]


StreamEvent = Token | Notice | Thinking | ReplyStart | VoiceClip | ApprovalNeeded


@dataclass
class StateUpdate:
    """The run's whole state after a step."""

    state: dict[str, Any]


async def reply_events(stream: AsyncIterator[Any]) -> AsyncIterator[StreamEvent | StateUpdate]:
    """Decode `graph.astream(..., stream_mode=["custom", "values"])` for a door."""
    async for mode, chunk in stream:
        if mode == "values" and isinstance(chunk, dict):
            for pause in chunk.get("__interrupt__") or ():
                value = getattr(pause, "value", None)
                if isinstance(value, dict) and value.get("kind") == "approval":
                    yield ApprovalNeeded(request=value)
            yield StateUpdate({k: v for k, v in chunk.items() if k != "__interrupt__"})
        elif mode == "custom" and isinstance(chunk, Token | Notice | Thinking | ReplyStart | VoiceClip):
            yield chunk
