"""Every model call goes through the registry: which models exist, how to reach them, what they cost."""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel

from agent.models.bundled import DEFAULT, bundled
from agent.models.config import ModelChoice, ModelSpec
from agent.redact import redact

# Enough for the judge's decision or a member profile (their schemas bound every string).
STRUCTURED_MIN_TOKENS = 256

log = logging.getLogger(__name__)


class ModelRegistry:
    def __init__(
        self,
        choice: ModelChoice,
        *,
        cache_dir: Path,
        bot_name: str = "Observer",
        local_model_path: Path | None = None,
        local_threads: int = 0,
        local_context: int = 2048,
    ) -> None:
        self.choice = choice
        self._cache_dir = cache_dir
        self._bot_name = bot_name
        self._local_model_path = local_model_path
        self._local_threads = local_threads
        self._local_context = local_context
        self._chat_models: dict[tuple[str, bool], BaseChatModel] = {}
        # A client is built once: by the background warm-up, or by the first call, which then waits for it.
        self._building = threading.Lock()
        self._structured_methods: dict[str, str] = {}
        self._windows: dict[str, int] = {}  # real context windows learned from servers, this process
        # Models whose chat template opens the think block: their streams start inside it.
        self.opens_in_reasoning: set[str] = set()

    @property
    def names(self) -> list[str]:
        return [m.name for m in self.choice.models]

    def names_for(self, guild_id: int | None) -> list[str]:
        """The models a server may see and choose: `names` less other servers' trained models (a model
        trained on one server's data is that server's alone, and not the host console's)."""
        return [m.name for m in self.choice.models if m.guild_id is None or m.guild_id == guild_id]

    @property
    def specs(self) -> list[ModelSpec]:
        """Every model's entry as configured, in the file's order."""
        return list(self.choice.models)

    @property
    def default_model(self) -> str:
        return self.choice.default_model

    @property
    def judge_model(self) -> str:
        return self.choice.judge_model

    def spec(self, name: str) -> ModelSpec:
        spec = self.choice.spec(name)
        if spec is None:
            raise KeyError(f"unknown model {name!r}; known: {', '.join(self.names)}")
        learned = self._windows.get(name)
        if learned is not None and learned < spec.context_window:
            return spec.model_copy(update={"context_window": learned})
        return spec

    def add(self, spec: ModelSpec) -> bool:
        """Add a model to the list while running (a finished training job's); False when the name is
        already taken (the list keeps its entry)."""
        if self.choice.spec(spec.name) is not None:
            return False
        self.choice = replace(self.choice, models=(*self.choice.models, spec))
        return True

    def learn_window(self, name: str, tokens: int) -> None:
        """The server said (or showed) that this model's window is smaller than configured: fit to it."""
        self._windows[name] = min(tokens, self._windows.get(name, tokens))

    def menu(self, guild_id: int | None = None) -> str:
        """One line per model the server may use, for the judge: name, what it is for, what it costs."""
        lines = []
        for m in self.choice.models:
            if m.guild_id is not None and m.guild_id != guild_id:
                continue
            price = (
                "free"
                if m.cost_per_1k_input == m.cost_per_1k_output == 0
                else f"${m.cost_per_1k_input:g}/${m.cost_per_1k_output:g} per 1k tokens in/out"
            )
            lines.append(f"- {m.name}: {m.about or 'general model'} ({price})")
        return "\n".join(lines)

    def structured_method(self, name: str) -> str | None:
        """The structured-output method that last worked for this model (auto mode), if any."""
        return self._structured_methods.get(name)

    def remember_structured_method(self, name: str, method: str) -> None:
        self._structured_methods[name] = method

    def warm(self) -> threading.Thread:
        """Build every remote client (imports, HTTP setup: about 0.8 s on 2 cores) in a background thread,
        so neither the first message nor the bot's connection to Discord waits for it; a message that needs
        a client before it is built waits for that one. Local models: see `preload_local`.
        """

        def build() -> None:
            for spec in self.choice.models:
                if spec.provider == "local":
                    continue
                try:
                    self.chat_model(spec.name)
                    self.chat_model(spec.name, streaming=False)
                except Exception as exc:  # not cached: the first call builds it again and meets the error there
                    log.warning(
                        "model %s: client not prepared at start (%s: %s)",
                        spec.name,
                        type(exc).__name__,
                        redact(str(exc)),
                    )

        # Not a daemon: the interpreter waits for it at exit. A daemon thread still importing native code
        # when the process exits (a fatal gateway close right after start) aborts it ("FATAL: exception
        # not rethrown", exit -6) instead of its one-line error and exit code.
        thread = threading.Thread(target=build, name="observer-warm-clients")
        thread.start()
        return thread

    def preload_local(self) -> list[threading.Thread]:
        """Doors that answer (the console, the bot) call this at start: a local model that judges or
        answers first loads its weights in the background, beside the rest of start-up. One that is only
        a fallback stays lazy (its memory is only worth spending when it is used)."""
        first_choices = {self.choice.judge_model, self.choice.default_model}
        return [
            self.chat_model(spec.name).preload()
            for spec in self.choice.models
            if spec.provider == "local" and spec.name in first_choices
        ]

    def chat_model(self, name: str, temperature: float | None = None, *, streaming: bool = True) -> Any:
        """The model's chat interface; `temperature` overrides its sampling for one call (a channel's setting).

        Unstreamed clients serve structured output: some servers (llama.cpp's) garble streamed tool calls.
        """
        spec = self.spec(name)
        key = (name, streaming or spec.provider == "local")
        model = self._chat_models.get(key)
        if model is None:
            with self._building:
                if key not in self._chat_models:
                    self._chat_models[key] = self._build(spec, streaming=key[1])
            model = self._chat_models[key]
        return model if temperature is None else model.bind(temperature=temperature)

    async def achat_model(self, name: str, temperature: float | None = None, *, streaming: bool = True) -> Any:
        """`chat_model` from async code: a client not built yet (the start-up warm-up may be building it,
        imports and all) is built or waited for in a worker thread, never on the event loop."""
        spec = self.spec(name)
        if (name, streaming or spec.provider == "local") in self._chat_models:
            return self.chat_model(name, temperature, streaming=streaming)
        return await asyncio.to_thread(self.chat_model, name, temperature, streaming=streaming)

    def _build(self, spec: ModelSpec, *, streaming: bool) -> BaseChatModel:
        if spec.provider == "local":
            # Imported here: the local model's code (numpy, llama.cpp's bindings) is not loaded by a
            # configuration that lists only remote models.
            from agent.models.local import LocalChatModel

            path = Path(spec.model) if spec.model.endswith(".gguf") else self._local_model_path
            entry = bundled(spec.model) or DEFAULT
            # A bundled model's own sampling, unless the model list chose a temperature.
            chosen = "temperature" in spec.model_fields_set or path is not None
            return LocalChatModel(
                model_path=str(path) if path else "",
                bundled_key=entry.key,
                chat_format=spec.chat_format,
                cache_dir=str(self._cache_dir),
                n_ctx=min(spec.context_window, self._local_context),
                n_threads=self._local_threads,
                max_tokens=spec.max_output_tokens,
                temperature=spec.temperature if chosen else entry.temperature,
                repeat_penalty=1.1 if path is not None else entry.repeat_penalty,
                ai_name=self._bot_name,
                lora_path=spec.lora_adapter or "",
            )
        import httpx

        from agent.models.openai_chat import ReasoningChatOpenAI

        # The reply-length cap goes in the field this server reads (extra_body reaches the wire as is).
        # Structured output (unstreamed) gets room for a whole JSON decision even under a tiny reply cap:
        # a cut-off object parses as nothing.
        tokens = spec.max_output_tokens if streaming else max(spec.max_output_tokens, STRUCTURED_MIN_TOKENS)
        limit: dict[str, Any] = (
            {"max_completion_tokens": tokens}
            if spec.token_limit_field() == "max_completion_tokens"
            else {"extra_body": {"max_tokens": tokens}}
        )
        return ReasoningChatOpenAI(
            # A client of our own: LangChain's shared default is cached per process and bound to the first
            # event loop that used it.
            http_async_client=httpx.AsyncClient(timeout=spec.timeout_s),
            model=spec.model,
            base_url=spec.base_url,
            api_key=spec.api_key(),  # type: ignore[arg-type]
            temperature=spec.temperature,
            top_p=spec.top_p,
            presence_penalty=spec.presence_penalty,
            frequency_penalty=spec.frequency_penalty,
            timeout=spec.timeout_s,
            max_retries=0,  # retries, cooldowns and fallbacks are the registry's job, not the client's
            streaming=streaming,
            stream_usage=True,  # ask for usage in the stream; servers that ignore it are counted by tokenizer
            **limit,
        )
