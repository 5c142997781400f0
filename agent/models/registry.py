"""Every model call goes through the registry: which models exist, how to reach them, what they cost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel

from agent.models.config import ModelsConfig, ModelSpec
from agent.models.local import LocalChatModel


class ModelRegistry:
    def __init__(
        self,
        config: ModelsConfig,
        *,
        cache_dir: Path,
        bot_name: str = "Observer",
        local_model_path: Path | None = None,
        local_threads: int = 0,
        local_context: int = 2048,
    ) -> None:
        self.config = config
        self._cache_dir = cache_dir
        self._bot_name = bot_name
        self._local_model_path = local_model_path
        self._local_threads = local_threads
        self._local_context = local_context
        self._chat_models: dict[str, BaseChatModel] = {}

    @property
    def names(self) -> list[str]:
        return [m.name for m in self.config.models]

    @property
    def default_model(self) -> str:
        assert self.config.default_model is not None
        return self.config.default_model

    @property
    def judge_model(self) -> str:
        assert self.config.judge_model is not None
        return self.config.judge_model

    def spec(self, name: str) -> ModelSpec:
        spec = self.config.spec(name)
        if spec is None:
            raise KeyError(f"unknown model {name!r}; known: {', '.join(self.names)}")
        return spec

    def menu(self) -> str:
        """One line per model for the judge: name, what it is for, what it costs."""
        lines = []
        for m in self.config.models:
            price = (
                "free"
                if m.cost_per_1k_input == m.cost_per_1k_output == 0
                else f"${m.cost_per_1k_input:g}/${m.cost_per_1k_output:g} per 1k tokens in/out"
            )
            lines.append(f"- {m.name}: {m.about or 'general model'} ({price})")
        return "\n".join(lines)

    def warm(self) -> None:
        """Build every remote client now (imports, HTTP setup), so the first message does not pay for it.

        The local model stays lazy: loading weights is only worth it when it is used.
        """
        for spec in self.config.models:
            if spec.provider != "local":
                self.chat_model(spec.name)

    def chat_model(self, name: str, temperature: float | None = None) -> Any:
        """The model's chat interface; `temperature` overrides its sampling for one call (a channel's setting)."""
        if name not in self._chat_models:
            self._chat_models[name] = self._build(self.spec(name))
        model = self._chat_models[name]
        return model if temperature is None else model.bind(temperature=temperature)

    def _build(self, spec: ModelSpec) -> BaseChatModel:
        if spec.provider == "local":
            path = Path(spec.model) if spec.model.endswith(".gguf") else self._local_model_path
            return LocalChatModel(
                model_path=str(path) if path else "",
                cache_dir=str(self._cache_dir),
                n_ctx=min(spec.context_window, self._local_context),
                n_threads=self._local_threads,
                max_tokens=spec.max_output_tokens,
                temperature=spec.temperature,
                ai_name=self._bot_name,
            )
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(
            model=spec.model,
            base_url=spec.base_url,
            api_key=spec.api_key(),  # type: ignore[arg-type]
            temperature=spec.temperature,
            top_p=spec.top_p,
            presence_penalty=spec.presence_penalty,
            frequency_penalty=spec.frequency_penalty,
            max_completion_tokens=spec.max_output_tokens,
            timeout=spec.timeout_s,
            max_retries=0,  # retries, cooldowns and fallbacks are the registry's job, not the client's
            streaming=True,
            stream_usage=True,
        )
