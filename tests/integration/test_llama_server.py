"""Observer against llama.cpp's real OpenAI-compatible server (llama-cpp-python[server]) on the bundled
GGUF: the judge's structured output, a capped streamed reply, and usage, with the model list's defaults."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage

from agent.models.local import bundled_model_path
from agent.models.one_stream import Answer, stream_once
from agent.state import Context
from tests.conftest import make_event, make_services, run_graph
from tests.servers import llama_server

pytestmark = pytest.mark.local_model


@pytest.fixture(scope="module")
def llama_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("llama")
    with llama_server(tmp, bundled_model_path(tmp)) as url:
        yield url


def toml_for(url: str, max_output_tokens: int = 64) -> str:
    # Defaults only (no structured_output, no token_limit_param): what a new user writes.
    return f"""
[[models]]
name = "gemma"
model = "gemma"
base_url = "{url}"
context_window = 2048
max_output_tokens = {max_output_tokens}
about = "small local model"

[[models]]
name = "gemma-b"
model = "gemma"
base_url = "{url}"
context_window = 2048
max_output_tokens = {max_output_tokens}
about = "the same model, second entry"
"""


async def test_the_judge_decides_on_llama_server(tmp_path: Path, database_url: str, embedder, llama_url: str):
    svc = await make_services(tmp_path, database_url, embedder, toml_for(llama_url), auto_every_n=1)
    try:
        for text in ("what time does the raid start tonight?", "今日のイベントは何時から？"):
            _, state = await run_graph(svc, make_event(text, channel="lobby"), Context(channel_mode="auto"))
            decision = state["decision"]
            assert decision.source == "judge", f"judge failed on the real server: {decision.reason}"
            # llama.cpp's server refuses a JSON schema; JSON mode (or, if the small model botches it,
            # an unstreamed tool call) works.
            assert decision.method in ("json_mode", "function_calling") and decision.model in ("gemma", "gemma-b")
        remembered = svc.registry.structured_method("gemma")
        assert remembered in ("json_mode", "function_calling"), "remembered for the next message"
        judged = [u for u in await svc.record.usage_rows() if u["purpose"] == "judge"]
        assert judged and all(u["ok"] for u in judged) and all(u["tokens_in"] > 0 for u in judged)
    finally:
        await svc.close()


async def test_a_streamed_reply_stays_within_max_output_tokens(
    tmp_path: Path, database_url: str, embedder, llama_url: str
):
    svc = await make_services(tmp_path, database_url, embedder, toml_for(llama_url, max_output_tokens=8))
    try:
        event = make_event("@Observer tell me a very long story about dragons", mentions_bot=True)
        tokens, state = await run_graph(svc, event, Context(model="gemma"))
        assert 0 < len(tokens) <= 8, f"{len(tokens)} tokens streamed with max_output_tokens = 8"
        assert state["reply"] and not state.get("error")
        [usage] = [u for u in await svc.record.usage_rows(event.message_id) if u["purpose"] == "reply"]
        assert usage["ok"] and usage["model"] == "gemma" and 0 < usage["tokens_out"] <= 8 and usage["tokens_in"] > 0
    finally:
        await svc.close()


async def test_tools_on_the_real_server(tmp_path: Path, database_url: str, embedder, llama_url: str):
    """What a user who sets `tools = true` on llama-cpp-python's server gets. With `tool_choice` "auto" (what
    the agent loop sends) the server leaves the tools out of this model's chat template and the model just
    answers; with a named `tool_choice` it constrains the output to a call, streamed in pieces that repeat
    the function name, which Observer must gather into one call with valid JSON arguments."""
    toml = toml_for(llama_url, max_output_tokens=24).replace(
        "max_output_tokens = 24", "max_output_tokens = 24\ntools = true"
    )
    svc = await make_services(tmp_path, database_url, embedder, toml)
    try:
        event = make_event("@Observer what time is it in Tokyo?", mentions_bot=True)
        _, state = await run_graph(svc, event, Context(model="gemma"))
        assert state["reply"] and not state.get("error"), "tools offered, the reply still comes"
        assert not state.get("tool_log"), "the server never produced a call in auto mode"

        spec = svc.registry.spec("gemma")
        [schema] = [t.openai_schema() for t in svc.toolbox.for_event(event) if t.name == "current_time"]
        model = svc.registry.chat_model("gemma").bind_tools([schema], tool_choice="current_time")
        answer = Answer()
        await stream_once(model, [HumanMessage("What time is it in Tokyo?")], lambda _: None, answer, spec)
        [call] = answer.tool_calls
        assert call["name"] == "current_time", "the repeated name is not concatenated"
        arguments = json.loads(call["arguments"])
        assert isinstance(arguments, dict)
        tool, _, why = svc.toolbox.check(call["name"], call["arguments"], event)
        assert tool is not None and (why is None or "timezone" in why)
    finally:
        await svc.close()
