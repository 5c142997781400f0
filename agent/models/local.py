"""A local GGUF model (the bundled one by default) behind LangChain's chat-model interface.

Instruct models are prompted through the chat template inside the GGUF (`chat_format = "template"`);
base models get a plain transcript to continue (`alice: ...` / `Observer: ...`, `"transcript"`).
Structured output is forced by a llama.cpp JSON grammar either way. Generation runs in a worker
thread; tokens cross to the event loop through a queue.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, SystemMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableLambda
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from agent.models.bundled import DEFAULT, ChatFormat, bundled
from agent.models.chat_template import ToolCallReader, render_chat_template
from agent.models.japanese_script import wants_japanese_script
from agent.models.llama_loading import LOCKS, bundled_model_path, load_llama
from agent.models.prompt_cache import cache_file, restore, save
from agent.models.script_guard import Guard, banned_tokens, guard_for, script_only
from agent.models.transcript import render_transcript
from agent.redact import redact

log = logging.getLogger(__name__)


class LocalChatModel(BaseChatModel):
    """Chat model over a local GGUF file, loaded once per process and shared."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_path: str = ""  # empty: the bundled model, assembled into `cache_dir` on first use
    cache_dir: str = ""
    n_ctx: int = 2048
    n_threads: int = 0
    max_tokens: int = 160
    temperature: float = 0.7
    repeat_penalty: float = 1.1  # llama.cpp's usual; a bundled model brings its own
    ai_name: str = "Assistant"
    bundled_key: str = DEFAULT.key  # which bundled model, when `model_path` is empty
    # "template": the GGUF's chat template (instruct models); "transcript": a base model; "auto": the
    # bundled entry's choice, or for a file, its template if it has one.
    chat_format: ChatFormat | Literal["auto"] = "auto"
    tools: list[dict[str, Any]] = Field(default_factory=list)  # offered through the chat template
    lora_path: str = ""  # a LoRA adapter (GGUF) over the model, e.g. a local training job's
    _stop_flag: threading.Event = PrivateAttr(default_factory=threading.Event)

    @property
    def _llm_type(self) -> str:
        return "observer-local-llama"

    @property
    def llama(self) -> Any:
        """Loaded on first use, in the worker thread that needs it (file I/O stays off the event loop);
        a fresh load starts from the last process's prompt cache."""
        return load_llama(
            self.resolved_path, self.n_ctx, self.n_threads, self._restore_prompt_cache, lora_path=self.lora_path
        )

    @property
    def prompt_cache(self) -> Path | None:
        """This model's prompt cache file (in the data dir), or None when there is no data dir."""
        if not self.cache_dir:
            return None
        return cache_file(Path(self.cache_dir), self.resolved_path, self.n_ctx, self.lora_path)

    def _restore_prompt_cache(self, llama: Any) -> None:
        path = self.prompt_cache
        if path is not None:
            restore(llama, path)

    def preload(self) -> threading.Thread:
        """Assemble and load the weights in a background thread, so the first answer does not wait for them."""
        # Not a daemon (like the remote warm-up, agent/models/registry.py): a process that exits while the
        # weights load waits for them instead of aborting inside llama.cpp with its exit code lost.

        def load() -> None:
            try:
                llama = self.llama  # the property loads the weights once per process
            except Exception as exc:  # the first answer meets it again and reports it; here, one line
                where = Path(self.model_path).name if self.model_path else self.bundled_key
                log.warning("local model %s: not loaded at start (%s: %s)", where, type(exc).__name__, redact(str(exc)))
                return
            try:
                banned_tokens(llama, "latin")  # the script masks: read beside the file, or built once
            except Exception as exc:  # the answer then goes unguarded (script_guard logs it again)
                log.warning("local model: script masks not built (%s)", type(exc).__name__)

        thread = threading.Thread(target=load, name="observer-local-model-load")
        thread.start()
        return thread

    @property
    def resolved_path(self) -> str:
        return self.model_path or str(bundled_model_path(Path(self.cache_dir), self.bundled_key))

    @property
    def resolved_format(self) -> ChatFormat:
        if self.chat_format != "auto":
            return self.chat_format
        if not self.model_path:
            return (bundled(self.bundled_key) or DEFAULT).chat_format
        return "template" if "tokenizer.chat_template" in self.llama.metadata else "transcript"

    def render(self, messages: list[BaseMessage]) -> tuple[list[int], list[str]]:
        """The prompt's tokens (fitted to the window, room left for the answer) and its stop strings."""
        if self.resolved_format == "transcript":
            prompt, stops = self.render_transcript(messages)
            return self._fit(prompt, self.max_tokens), stops
        return self._fit_chat(messages)

    def _fit_chat(self, messages: list[BaseMessage]) -> tuple[list[int], list[str]]:
        """Rendered with the GGUF's template; the oldest turns after the system prompt go first until it fits
        (cutting rendered tokens would break the template's turn markers)."""
        room = self.n_ctx - self.max_tokens - 8
        kept = list(messages)
        while True:
            prompt, stops = render_chat_template(self.llama, kept, self.tools)
            tokens: list[int] = self.llama.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
            droppable = [i for i, m in enumerate(kept[:-1]) if not isinstance(m, SystemMessage)]
            if len(tokens) <= room or not droppable:
                return tokens[-room:], stops
            del kept[droppable[0]]

    def render_transcript(self, messages: list[BaseMessage]) -> tuple[str, list[str]]:
        """A chat as text a base model continues, plus the stop strings that end its turn."""
        return render_transcript(messages, self.ai_name)

    def _fit(self, prompt: str, max_tokens: int) -> list[int]:
        """Tokens of the prompt, cut from the front so prompt + answer fit the context window."""
        tokens: list[int] = self.llama.tokenize(prompt.encode("utf-8"), add_bos=True)
        room = self.n_ctx - max_tokens - 8
        if len(tokens) > room:
            tokens = tokens[:1] + tokens[-(room - 1) :]
        return tokens

    def _completion_stream(
        self,
        render: Callable[[], tuple[list[int], list[str]]],
        grammar: Any = None,
        temperature: float | None = None,
        extra_stop: Sequence[str] = (),
        japanese: bool = False,
        guard: Guard | None = None,
    ) -> Iterator[tuple[str, dict[str, int]]]:
        lock = LOCKS.setdefault(self.resolved_path, threading.Lock())
        with lock:
            llama = self.llama
            tokens, stop = render()
            stop = [*stop, *extra_stop]
            produced = 0
            from llama_cpp import LogitsProcessorList  # with the model: llama_cpp is loaded by now

            masks = [script_only(llama, "japanese")] if japanese else []
            if guard is not None:
                masks.append(script_only(llama, guard))
            processors = LogitsProcessorList(masks) if masks else None
            for part in llama.create_completion(
                tokens,
                max_tokens=self.max_tokens,
                temperature=self.temperature if temperature is None else temperature,
                repeat_penalty=self.repeat_penalty,
                stop=stop,
                stream=True,
                grammar=grammar,
                logits_processor=processors,
            ):
                produced += 1
                text = part["choices"][0]["text"]
                yield text, {"input": len(tokens), "output": produced}
                if self._stop_flag.is_set():
                    break
            # A reply's prompt is what the next process can reuse; a judge's or structured call's (a
            # grammar) would only replace it, and costs a write on the bot's hot path.
            if grammar is None and (path := self.prompt_cache) is not None:
                save(llama, path)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = ""
        usage = {"input": 0, "output": 0}
        for chunk in self._stream(messages, stop, run_manager, **kwargs):
            text += chunk.text
            if chunk.message.usage_metadata:  # type: ignore[attr-defined]
                usage = {
                    "input": chunk.message.usage_metadata["input_tokens"],  # type: ignore[attr-defined]
                    "output": chunk.message.usage_metadata["output_tokens"],  # type: ignore[attr-defined]
                }
        message = AIMessage(content=text.strip(), usage_metadata=_usage(usage))
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        usage = {"input": 0, "output": 0}
        renders = [lambda: self.render(messages)]
        member = _member_text(messages)
        japanese, guard = wants_japanese_script(member), guard_for(member)
        if self.resolved_format == "transcript":
            # A base model sometimes opens its turn with a blank line, which is also where a turn
            # stops: one retry with a nudge (a leading space) instead of an empty answer.
            def nudged() -> tuple[list[int], list[str]]:
                prompt, stops = self.render_transcript(messages)
                return self._fit(prompt + " ", self.max_tokens), stops

            renders.append(nudged)
        for render in renders:
            said = False
            calls = ToolCallReader() if self.tools else None
            stream = self._completion_stream(
                render,
                temperature=kwargs.get("temperature"),
                extra_stop=stop or (),
                japanese=japanese,
                guard=guard,
            )
            for text, counts in stream:
                usage = counts
                if calls is not None:
                    text = calls.feed(text)
                if not said:
                    text = text.lstrip()
                if text:
                    said = True
                    yield ChatGenerationChunk(message=AIMessageChunk(content=text))
            if calls is not None:
                rest, found = calls.finish()
                if rest.strip():
                    said = True
                    yield ChatGenerationChunk(message=AIMessageChunk(content=rest if said else rest.lstrip()))
                if found:
                    said = True
                    yield ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=found))
            if said:
                break
        yield ChatGenerationChunk(message=AIMessageChunk(content="", usage_metadata=_usage(usage)))

    def bind_tools(  # type: ignore[override]
        self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Tools go into the chat template (Qwen's, Hermes-style); calls come back as `<tool_call>` blocks."""
        if self.resolved_format != "template":
            raise ValueError("a base model (transcript format) cannot call tools; set `tools = false` for it")
        return self.model_copy(update={"tools": [convert_to_openai_tool(t) for t in tools]})

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[ChatGenerationChunk | BaseException | None] = asyncio.Queue()
        cancelled = threading.Event()

        def work() -> None:
            try:
                # Loading the weights is not the model being slow: an empty chunk once they are in, so
                # the caller's wait for the first token starts from here.
                assert self.llama is not None
                loop.call_soon_threadsafe(queue.put_nowait, ChatGenerationChunk(message=AIMessageChunk(content="")))
                for chunk in self._stream(messages, stop, **kwargs):
                    if cancelled.is_set():
                        break
                    loop.call_soon_threadsafe(queue.put_nowait, chunk)
            except BaseException as exc:  # surfaced to the awaiting coroutine
                loop.call_soon_threadsafe(queue.put_nowait, exc)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, None)

        worker = loop.run_in_executor(None, work)
        try:
            while (item := await queue.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                if run_manager and item.text:
                    await run_manager.on_llm_new_token(item.text, chunk=item)
                yield item
        finally:
            cancelled.set()
            await asyncio.shield(worker)

    def with_structured_output(  # type: ignore[override]
        self, schema: type[BaseModel], **kwargs: Any
    ) -> Runnable[LanguageModelInput, BaseModel]:
        """Structured output for a base model: the grammar only lets it write the schema's JSON."""
        from llama_cpp import LlamaGrammar

        grammar_text = json.dumps(schema.model_json_schema())

        def run(messages: LanguageModelInput) -> BaseModel:
            msgs = self._convert_input(messages).to_messages()
            if self.resolved_format == "template":
                model = self.model_copy(update={"tools": []})

                def render() -> tuple[list[int], list[str]]:
                    return model._fit_chat(msgs)
            else:

                def render() -> tuple[list[int], list[str]]:
                    prompt = "\n\n".join(str(m.content) for m in msgs) + "\nJSON: "
                    return self._fit(prompt, self.max_tokens), []

            grammar = LlamaGrammar.from_json_schema(grammar_text, verbose=False)
            text = "".join(t for t, _ in self._completion_stream(render, grammar=grammar))
            return schema.model_validate_json(text)

        async def arun(messages: LanguageModelInput) -> BaseModel:
            return await asyncio.to_thread(run, messages)

        return RunnableLambda(run, afunc=arun, name="local_structured_output")


def _member_text(messages: list[BaseMessage]) -> str:
    """What the member said last (the message being answered)."""
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            content = message.content
            if isinstance(content, str):
                return content
            return " ".join(str(p.get("text", "")) if isinstance(p, dict) else str(p) for p in content)
    return ""


def _usage(usage: dict[str, int]) -> UsageMetadata:
    return UsageMetadata(
        input_tokens=usage["input"], output_tokens=usage["output"], total_tokens=usage["input"] + usage["output"]
    )


__all__ = ["HumanMessage", "LocalChatModel", "bundled_model_path"]
