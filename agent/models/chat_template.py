"""Chats rendered with the chat template inside a GGUF file, and tool calls read back from its output.

The template is the model's own (Qwen's ChatML, with its `# Tools` section when tools are offered),
rendered by llama-cpp-python's Jinja2 formatter exactly as its server would. Tool calls come back in
the Hermes/Qwen form `<tool_call>{"name": …, "arguments": {…}}</tool_call>`.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, SystemMessage, ToolMessage
from langchain_core.messages.tool import ToolCallChunk, tool_call_chunk

_FORMATTERS: dict[int, Any] = {}
_FORMATTERS_LOCK = threading.Lock()

OPEN, CLOSE = "<tool_call>", "</tool_call>"


def _formatter(llama: Any) -> Any:
    """One Jinja2 formatter per loaded model (compiling the template costs ~10 ms)."""
    with _FORMATTERS_LOCK:
        key = id(llama)
        if key not in _FORMATTERS:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            model = llama._model
            eos, bos = llama.token_eos(), llama.token_bos()
            _FORMATTERS[key] = Jinja2ChatFormatter(
                template=llama.metadata["tokenizer.chat_template"],
                eos_token=model.token_get_text(eos) if eos != -1 else "",
                bos_token=model.token_get_text(bos) if bos != -1 else "",
                stop_token_ids=[eos],
            )
        return _FORMATTERS[key]


def _text(message: BaseMessage) -> str:
    return message.text if isinstance(message.text, str) else str(message.content)


def as_chat_dicts(messages: list[BaseMessage]) -> list[dict[str, Any]]:
    """LangChain messages as the template's dicts: one system turn first (several are joined), images
    dropped (a local text model cannot see them), tool calls and results in the OpenAI shape."""
    system = "\n\n".join(_text(m).strip() for m in messages if isinstance(m, SystemMessage))
    out: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    for message in messages:
        if isinstance(message, SystemMessage):
            continue
        if isinstance(message, AIMessage):
            turn: dict[str, Any] = {"role": "assistant", "content": _text(message)}
            if message.tool_calls:
                turn["tool_calls"] = [
                    {"type": "function", "id": c["id"], "function": {"name": c["name"], "arguments": c["args"]}}
                    for c in message.tool_calls
                ]
            out.append(turn)
        elif isinstance(message, ToolMessage):
            out.append({"role": "tool", "content": _text(message), "tool_call_id": message.tool_call_id})
        else:
            out.append({"role": "user", "content": _text(message)})
    return out


def render_chat_template(llama: Any, messages: list[BaseMessage], tools: list[dict[str, Any]]) -> tuple[str, list[str]]:
    """The prompt text (special tokens written out) and the stop strings of the model's template."""
    response = _formatter(llama)(messages=as_chat_dicts(messages), tools=tools or None)
    stop = response.stop
    stops = [stop] if isinstance(stop, str) else list(stop or [])
    return response.prompt, stops


class ToolCallReader:
    """Splits a streamed answer into text (passed on as it comes) and `<tool_call>` blocks (held back).

    `feed` returns the text that is safe to show now: anything that could still be the start of a
    `<tool_call>` tag is held until the next piece tells, and an answer that opens with `{` is held
    whole (small models write the call's JSON without its tags). `finish` returns what was held and the
    calls as LangChain tool-call chunks; a block that is not a call is given back as text.
    """

    def __init__(self) -> None:
        self._pending = ""
        self._blocks: list[str] = []
        self._inside = False
        self._started = False
        self._bare = False  # the answer opened with `{`: small models often write the call without its tags

    def feed(self, text: str) -> str:
        if not self._started and text.strip():
            self._started = True
            self._bare = text.lstrip().startswith("{")
        if self._bare:
            self._pending += text
            return ""
        self._pending += text
        shown: list[str] = []
        while self._pending:
            if self._inside:
                end = self._pending.find(CLOSE)
                if end < 0:
                    return "".join(shown)
                self._blocks.append(self._pending[:end])
                self._pending = self._pending[end + len(CLOSE) :]
                self._inside = False
                continue
            start = self._pending.find(OPEN)
            if start >= 0:
                shown.append(self._pending[:start])
                self._pending = self._pending[start + len(OPEN) :]
                self._inside = True
                continue
            keep = _partial_tag_length(self._pending)
            shown.append(self._pending[: len(self._pending) - keep])
            self._pending = self._pending[len(self._pending) - keep :]
            break
        return "".join(shown)

    def finish(self) -> tuple[str, list[ToolCallChunk]]:
        if self._bare:
            self._blocks.append(self._pending)
            self._pending = ""
        rest = self._pending if not self._inside else OPEN + self._pending
        calls: list[ToolCallChunk] = []
        for block in self._blocks:
            try:
                call = json.loads(block)
                name = call["name"]
                arguments = call.get("arguments", {})
            except (ValueError, KeyError, TypeError):
                rest += block if self._bare else OPEN + block + CLOSE
                continue
            args = arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)
            calls.append(tool_call_chunk(name=str(name), args=args, id=f"call_{len(calls)}", index=len(calls)))
        return rest, calls


def _partial_tag_length(text: str) -> int:
    """How many trailing characters could begin `<tool_call>`."""
    for size in range(min(len(OPEN) - 1, len(text)), 0, -1):
        if OPEN.startswith(text[-size:]):
            return size
    return 0
