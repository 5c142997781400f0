"""Remote model clients are built at start in a background thread (agent/models/registry.py): the
first message that needs one before it is ready waits for that build and gets the same client."""

from __future__ import annotations

import threading
from pathlib import Path

from agent.models.config import ModelChoice, ModelSpec
from agent.models.registry import ModelRegistry


def test_a_client_asked_for_while_the_warm_up_builds_it_is_built_once_and_shared(tmp_path: Path):
    models = (
        ModelSpec(name="chat", model="gpt-x", base_url="http://127.0.0.1:9/v1"),
        ModelSpec(name="judge", model="gpt-y", base_url="http://127.0.0.1:9/v1"),
    )
    registry = ModelRegistry(ModelChoice.of(*models), cache_dir=tmp_path)
    built: list[tuple[str, bool]] = []
    inside, release = threading.Event(), threading.Event()
    real_build = registry._build

    def slow_build(spec: ModelSpec, *, streaming: bool):
        built.append((spec.name, streaming))
        if len(built) == 1:  # the warm-up's first client takes its time (imports)
            inside.set()
            release.wait()
        return real_build(spec, streaming=streaming)

    registry._build = slow_build  # type: ignore[method-assign]
    warming = registry.warm()
    inside.wait()
    asked: list[object] = []
    first_message = threading.Thread(target=lambda: asked.append(registry.chat_model("chat")))
    first_message.start()
    release.set()
    first_message.join()
    warming.join()

    assert asked == [registry.chat_model("chat")], "the message got the warm-up's client"
    assert sorted(built) == [("chat", False), ("chat", True), ("judge", False), ("judge", True)], "each built once"
    assert type(asked[0]).__name__ == "ReasoningChatOpenAI"
