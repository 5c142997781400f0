"""Remote model clients are built at start in a background thread (agent/models/registry.py): the
first message that needs one before it is ready waits for that build and gets the same client."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

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


def test_a_client_that_cannot_be_built_at_start_leaves_the_others_warm_and_fails_again_at_first_use(
    tmp_path: Path, caplog
):
    models = (
        ModelSpec(name="broken", model="gpt-x", base_url="http://127.0.0.1:9/v1"),
        ModelSpec(name="fine", model="gpt-y", base_url="http://127.0.0.1:9/v1"),
    )
    registry = ModelRegistry(ModelChoice.of(*models), cache_dir=tmp_path)
    real_build = registry._build

    def build(spec: ModelSpec, *, streaming: bool):
        if spec.name == "broken":
            raise ValueError("no such server")
        return real_build(spec, streaming=streaming)

    registry._build = build  # type: ignore[method-assign]
    registry.warm().join()

    assert ("fine", True) in registry._chat_models and ("fine", False) in registry._chat_models
    assert "model broken: client not prepared at start (ValueError: no such server)" in caplog.text
    with pytest.raises(ValueError, match="no such server"):
        registry.chat_model("broken")


async def test_the_first_message_waits_for_the_warm_up_without_stopping_the_event_loop(tmp_path: Path):
    """The bot's heartbeat and every other channel keep running while a client is still being built."""
    registry = ModelRegistry(
        ModelChoice.of(ModelSpec(name="chat", model="gpt-x", base_url="http://127.0.0.1:9/v1")), cache_dir=tmp_path
    )
    inside, release = threading.Event(), threading.Event()
    real_build = registry._build

    def slow_build(spec: ModelSpec, *, streaming: bool):
        inside.set()
        release.wait()
        return real_build(spec, streaming=streaming)

    registry._build = slow_build  # type: ignore[method-assign]
    warming = registry.warm()
    await asyncio.to_thread(inside.wait)
    asking = asyncio.create_task(registry.achat_model("chat"))
    ticks = 0
    while ticks < 20:  # the loop turns while the message waits
        await asyncio.sleep(0.01)
        ticks += 1
    assert not asking.done()
    release.set()
    assert await asking is registry.chat_model("chat")
    await asyncio.to_thread(warming.join)
