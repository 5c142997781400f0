"""The fake server acting as each OpenAI-compatible family, as strict as the real ones: what the judge
and a reply get from each with the model list's defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.models.structured import structured_call
from agent.nodes.judge import judge_schema
from agent.state import Context
from tests.conftest import make_event, make_services, models_toml, run_graph
from tests.fakes.openai_server import Drip, FakeOpenAI, Html, Reply


def limited_toml(base_url: str, max_output_tokens: int, **extra: str) -> str:
    toml = models_toml(base_url, max_output_tokens=max_output_tokens)
    return toml + "".join(f"{k} = {v}\n" for k, v in extra.items())


async def judge_once(svc, text: str):
    return await structured_call(
        svc.registry,
        svc.router.cooldowns,
        svc.record,
        judge_schema(["chat"]),
        f"Should the bot answer this? {text}",
        preferred="chat",
        candidates=["chat"],
        purpose="judge",
        event=None,
    )


async def test_judge_on_a_llamacpp_like_server_falls_back_to_json_mode_and_remembers(
    tmp_path: Path, database_url: str, embedder, fake_openai: FakeOpenAI
):
    fake_openai.flavour = "llamacpp"
    svc = await make_services(tmp_path, database_url, embedder, models_toml(fake_openai.base_url))
    try:
        first = await judge_once(svc, "hello")
        assert first.error is None and first.method == "json_mode" and first.output.model == "chat"
        formats = [r.get("response_format", {}).get("type") for r in fake_openai.requests]
        assert formats == ["json_schema", "json_object"], "schema refused, then JSON mode with the schema"
        json_mode = fake_openai.requests[1]
        assert json_mode["response_format"]["schema"]["properties"]["respond"]["type"] == "boolean"
        assert "respond" in json_mode["messages"][-1]["content"], "the schema is in the prompt too"
        assert json_mode.get("stream") is not True

        second = await judge_once(svc, "こんにちは、元気？")
        assert second.error is None and second.method == "json_mode"
        assert len(fake_openai.requests) == 3, "what worked is remembered: no refused request again"
        usage = [u for u in await svc.record.usage_rows() if u["purpose"] == "judge"]
        assert all(u["ok"] for u in usage) and usage[0]["tokens_in"] > 0
    finally:
        await svc.close()


async def test_refusal_names_the_servers_reason_and_costs_nothing(
    tmp_path: Path, database_url: str, embedder, fake_openai: FakeOpenAI
):
    fake_openai.flavour = "llamacpp"
    toml = models_toml(fake_openai.base_url) + 'structured_output = "json_schema"\n'
    svc = await make_services(tmp_path, database_url, embedder, toml)
    try:
        result = await judge_once(svc, "hello")
        assert result.error is not None and result.error.startswith("HTTP 500 from the endpoint: ")
        assert "Input should be 'text' or 'json_object'" in result.error and "\n" not in result.error
        [row] = await svc.record.usage_rows()
        assert row["ok"] is False and row["cost_usd"] == 0 and row["tokens_in"] == 0
    finally:
        await svc.close()


async def test_tool_call_fallback_is_unstreamed_where_names_repeat(
    tmp_path: Path, database_url: str, embedder, fake_openai: FakeOpenAI
):
    fake_openai.flavour = "llamacpp"
    toml = models_toml(fake_openai.base_url) + 'structured_output = "function_calling"\n'
    svc = await make_services(tmp_path, database_url, embedder, toml)
    try:
        result = await judge_once(svc, "hello")
        assert result.error is None and result.method == "function_calling"
        assert fake_openai.requests[0].get("stream") is not True and fake_openai.requests[0]["tools"]
    finally:
        await svc.close()


@pytest.mark.parametrize("flavour", ["ollama", "lmstudio", "llamacpp", "openai"])
async def test_reply_length_is_capped_on_every_family(
    tmp_path: Path, database_url: str, embedder, fake_openai: FakeOpenAI, flavour: str
):
    fake_openai.flavour = flavour
    fake_openai.default_reply = " ".join(f"w{i}" for i in range(200))
    svc = await make_services(tmp_path, database_url, embedder, limited_toml(fake_openai.base_url, 12))
    try:
        tokens, state = await run_graph(svc, make_event("@Observer talk", mentions_bot=True))
        assert 0 < len("".join(tokens).split()) <= 12 and state["reply"].startswith("w0 w1")
        [request] = [r for r in fake_openai.requests if r.get("stream")]
        assert request.get("max_tokens") == 12, "a compatible server is sent the field it reads"
        assert "max_completion_tokens" not in request
        usage = [u for u in await svc.record.usage_rows() if u["purpose"] == "reply"]
        assert usage[-1]["tokens_out"] <= 12 and usage[-1]["ok"]
    finally:
        await svc.close()


async def test_a_server_that_ignores_every_limit_is_capped_on_our_side(
    tmp_path: Path, database_url: str, embedder, fake_openai: FakeOpenAI
):
    fake_openai.flavour = "unbounded"
    fake_openai.default_reply = " ".join(f"w{i}" for i in range(300))
    svc = await make_services(tmp_path, database_url, embedder, limited_toml(fake_openai.base_url, 20))
    try:
        tokens, state = await run_graph(svc, make_event("@Observer talk", mentions_bot=True))
        # Streamed pieces may leave the node joined (agent/nodes/token_batches.py): count the words.
        assert "".join(tokens).split() == [f"w{i}" for i in range(20)] and state["capped"] == "length"
        assert not state.get("error"), "a capped reply ends cleanly, it is not a failure"
        assert state["reply"].endswith("w19")
    finally:
        await svc.close()


async def test_a_dripping_model_stops_at_its_wall_clock_limit(
    tmp_path: Path, database_url: str, embedder, fake_openai: FakeOpenAI
):
    svc = await make_services(
        tmp_path, database_url, embedder, limited_toml(fake_openai.base_url, 256, max_reply_seconds="1.5")
    )
    try:
        fake_openai.push(Drip(" ".join(f"w{i}" for i in range(100)), every_s=0.4))
        tokens, state = await run_graph(svc, make_event("@Observer talk", mentions_bot=True))
        assert 0 < len(tokens) < 100 and state["capped"] == "time" and not state.get("error")
    finally:
        await svc.close()


async def test_an_html_page_fails_over_at_once(tmp_path: Path, database_url: str, embedder, fake_openai: FakeOpenAI):
    svc = await make_services(
        tmp_path, database_url, embedder, models_toml(fake_openai.base_url), max_busy_wait_seconds=300.0
    )
    try:
        fake_openai.push(Html())
        tokens, state = await run_graph(svc, make_event("@Observer hi", mentions_bot=True), Context())
        assert tokens == [] and "not a valid response" in state["error"]
        assert len(fake_openai.requests) == 1, "garbage is not retried, and not waited for as if busy"
        fake_openai.push(Reply("Back again."))
        await svc.router.cooldowns.clear("chat")
        _, state = await run_graph(svc, make_event("@Observer hi", mentions_bot=True))
        assert state["reply"] == "Back again."
    finally:
        await svc.close()


def test_token_limit_field_follows_the_server():
    from agent.models.config import ModelSpec

    assert ModelSpec(name="o", model="gpt-4o-mini").token_limit_field() == "max_completion_tokens"
    assert (
        ModelSpec(name="o", model="gpt-4o", base_url="https://api.openai.com/v1").token_limit_field()
        == "max_completion_tokens"
    )
    assert ModelSpec(name="l", model="llama3", base_url="http://localhost:11434/v1").token_limit_field() == "max_tokens"
    forced = ModelSpec(name="v", model="m", base_url="http://vllm:8000/v1", token_limit_param="max_completion_tokens")
    assert forced.token_limit_field() == "max_completion_tokens"
