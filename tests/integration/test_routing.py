"""Model routing against the fake OpenAI-compatible server: cooldowns, fallbacks, budgets, overrides."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent.events import Attachment
from agent.models.cooldowns import Cooldown, backoff_seconds
from agent.state import Context
from agent.stream import Notice, StateUpdate, Token, reply_events
from tests.conftest import make_event, make_services, models_toml, reply_graph, run_graph
from tests.fakes.openai_server import Fail, FakeOpenAI, Hang, Reply


def two_models(base_url: str, **top: str) -> str:
    return models_toml(base_url, ("a", "b"), **top)


@pytest.fixture
async def routed(tmp_path: Path, database_url: str, embedder, fake_openai: FakeOpenAI):
    svc = await make_services(tmp_path, database_url, embedder, two_models(fake_openai.base_url))
    yield svc
    await svc.close()


def cooled_for(cooldown: Cooldown, seconds: float, before: datetime, after: datetime) -> bool:
    """The cooldown was set to `seconds` at some moment between `before` and `after` (however slow)."""
    span = timedelta(seconds=seconds)
    return before + span <= cooldown.until <= after + span


def only_model(model: str, behaviour: Any):
    def respond(body: dict[str, Any]) -> Any:
        return behaviour if body["model"] == f"fake-{model}" else None

    return respond


async def test_429_cools_the_model_until_retry_after_and_falls_back(routed, fake_openai: FakeOpenAI):
    fake_openai.responder = only_model("a", Fail(429, retry_after=1.5))
    event = make_event("@Observer hi", mentions_bot=True)
    before = datetime.now(UTC)
    _, state = await run_graph(routed, event)
    after = datetime.now(UTC)
    # With two models the judge (model a) chooses the model even for a mention: it meets the 429 first.
    assert state["model"] == "b" and state["reply"] == fake_openai.default_reply
    assert "a is cooling down" in state["model_reason"]
    cooling = await routed.router.cooling()
    assert cooled_for(cooling["a"], 1.5, before, after) and "429" in cooling["a"].reason

    # While a cools, the next message goes straight to b: no request to a at all.
    count_a = len(fake_openai.chat_requests("fake-a"))
    _, state = await run_graph(routed, make_event("@Observer again", mentions_bot=True))
    assert state["model"] == "b"
    assert len(fake_openai.chat_requests("fake-a")) == count_a

    # After Retry-After, a serves again (and its cooldown is cleared on success).
    fake_openai.responder = None
    routed.router.cooldowns._read_at = float("-inf")
    import asyncio

    await asyncio.sleep(1.6)
    _, state = await run_graph(routed, make_event("@Observer and now?", mentions_bot=True))
    assert state["model"] == "a"
    assert "a" not in await routed.router.cooling()


async def test_429_without_retry_after_backs_off_exponentially(routed, fake_openai: FakeOpenAI):
    assert [backoff_seconds(n, None) for n in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 16.0]
    assert backoff_seconds(1, 30) == 30
    fake_openai.responder = only_model("a", Fail(429))
    before = datetime.now(UTC)
    await run_graph(routed, make_event("@Observer one", mentions_bot=True))
    first = (await routed.router.cooling())["a"]
    assert first.failures == 1 and cooled_for(first, 2.0, before, datetime.now(UTC))
    before = datetime.now(UTC)
    cooled = await routed.router.cooldowns.cool("a", retry_after=None, reason="again")
    assert cooled.failures == 2 and cooled_for(cooled, 4.0, before, datetime.now(UTC))


async def test_server_errors_retry_then_fall_back_and_timeouts_fall_back_at_once(
    tmp_path: Path, database_url: str, embedder, fake_openai: FakeOpenAI
):
    svc = await make_services(
        tmp_path, database_url, embedder, models_toml(fake_openai.base_url, ("a", "b"), timeout_s=1)
    )
    try:
        fake_openai.responder = only_model("a", Fail(503))
        _, state = await run_graph(svc, make_event("@Observer hello", mentions_bot=True))
        assert state["model"] == "b" and state["reply"]
        generation = [r for r in fake_openai.chat_requests("fake-a") if "response_format" not in r]
        assert len(generation) == 3, "one call and two retries"
        await svc.router.cooldowns.clear("a")
        fake_openai.responder = only_model("a", Hang(6))
        _, state = await run_graph(svc, make_event("@Observer hello again", mentions_bot=True))
        assert state["model"] == "b" and state["reply"]
        failures = [u for u in await svc.record.usage_rows() if not u["ok"]]
        replies = [u["error"] for u in failures if u["purpose"] == "reply"]
        # A silent server is not asked again (each try would cost the member another timeout).
        assert replies == ["HTTP 503 from the endpoint: fake failure"] * 3 + ["timed out"]
    finally:
        await svc.close()


async def test_cooldowns_survive_a_restart(tmp_path: Path, database_url: str, embedder, fake_openai: FakeOpenAI):
    toml = two_models(fake_openai.base_url)
    first = await make_services(tmp_path, database_url, embedder, toml)
    await first.router.cooldowns.cool("a", retry_after=60, reason="rate limited (HTTP 429)")
    await first.close()
    second = await make_services(tmp_path, database_url, embedder, toml)
    try:
        cooling = await second.router.cooling()
        assert 55 < cooling["a"].seconds_left() <= 60
        _, state = await run_graph(second, make_event("@Observer hi", mentions_bot=True))
        assert state["model"] == "b"
    finally:
        await second.close()


async def test_when_nothing_can_serve_the_member_is_told_and_the_message_is_answered(
    tmp_path: Path, database_url: str, embedder, fake_openai: FakeOpenAI
):
    svc = await make_services(
        tmp_path, database_url, embedder, two_models(fake_openai.base_url), max_busy_wait_seconds=10
    )
    # Both models answer their first request with a 429, so they cool down exactly when the reply is
    # being written, however slowly the machine got there.
    refused: set[str] = set()

    def first_request_rate_limited(body: dict[str, Any]) -> Any:
        if body["model"] in refused:
            return None
        refused.add(body["model"])
        return Fail(429, retry_after=1.0)

    fake_openai.responder = first_request_rate_limited
    try:
        notices, tokens = [], []
        stream = reply_graph(svc).astream(
            {"event": make_event("@Observer anyone home?", mentions_bot=True)},
            context=Context(model="a"),  # no judge call: the reply meets both 429s
            stream_mode=["custom", "values"],
        )
        async for item in reply_events(stream):
            if isinstance(item, Notice):
                notices.append(item.text)
            elif isinstance(item, Token):
                tokens.append(item.text)
            elif isinstance(item, StateUpdate):
                state = item.state
        assert notices and notices[0].startswith("All models are busy; I'll answer in ~")
        assert state["reply"] == fake_openai.default_reply and tokens
    finally:
        await svc.close()


async def test_the_judge_only_offers_models_that_can_serve(routed, fake_openai: FakeOpenAI):
    await routed.router.cooldowns.cool("b", retry_after=60, reason="rate limited (HTTP 429)")
    fake_openai.push(Reply(json_obj={"respond": False, "model": "a", "reason": "chatter"}))
    await run_graph(routed, make_event("random chatter"), Context(channel_mode="auto"))
    schema = fake_openai.requests[-1]["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["model"]["enum"] == ["a"]


async def test_budget_prefers_cheaper_models_then_stops_politely(
    tmp_path: Path, database_url: str, embedder, fake_openai: FakeOpenAI
):
    # models_toml prices later models higher: a costs more than b.
    toml = models_toml(fake_openai.base_url, ("b", "a"), default_model="a")
    svc = await make_services(tmp_path, database_url, embedder, toml, daily_budget_usd=1.0)
    fake_openai.default_json = {"respond": True, "model": "a", "voice": False, "reason": "judge likes a"}
    try:
        event = make_event("@Observer hi", mentions_bot=True)
        _, state = await run_graph(svc, event)
        assert state["model"] == "a"
        svc.record.queue_usage(
            event, purpose="reply", model="a", tokens_in=0, tokens_out=0, cost_usd=0.85, latency_ms=1
        )
        await svc.record.flush()
        svc.router._spent.clear()
        _, state = await run_graph(svc, make_event("@Observer hi again", mentions_bot=True))
        assert state["model"] == "b" and "cheapest model first" in state["model_reason"]
        svc.record.queue_usage(event, purpose="reply", model="a", tokens_in=0, tokens_out=0, cost_usd=0.2, latency_ms=1)
        await svc.record.flush()
        svc.router._spent.clear()
        calls = len(fake_openai.requests)
        tokens, state = await run_graph(svc, make_event("@Observer one more?", mentions_bot=True))
        assert "spending limit" in state["reply"] and "".join(tokens) == state["reply"]
        assert len(fake_openai.requests) == calls, "no model call at the limit"
        totals = await svc.record.usage_totals(event.guild_id, datetime.now(UTC).replace(hour=0, minute=0))
        assert sum(t["cost_usd"] for t in totals) >= 1.0
    finally:
        await svc.close()


async def test_channel_pins_a_model_and_its_temperature(routed, fake_openai: FakeOpenAI):
    event = make_event("@Observer hi", mentions_bot=True, channel="quiet-room")
    await routed.record.store_event(event)
    await routed.record.update_channel_settings(event.channel_id, model="b", temperature=0.1)
    _, state = await run_graph(routed, make_event("@Observer hello", mentions_bot=True, channel="quiet-room"))
    assert state["model"] == "b" and state["model_reason"] == "pinned for this channel"
    assert fake_openai.requests[-1]["temperature"] == 0.1


async def test_images_go_to_vision_models_as_images(
    tmp_path: Path, database_url: str, embedder, fake_openai: FakeOpenAI
):
    toml = models_toml(fake_openai.base_url, ("eyes",)).replace(
        'about = "model eyes"', 'about = "model eyes"\nvision = true'
    )
    toml += models_toml(fake_openai.base_url, ("plain",))
    svc = await make_services(tmp_path, database_url, embedder, toml)
    try:
        image = Attachment(filename="cat.png", content_type="image/png", size=10, url="https://cdn.example/cat.png")
        await run_graph(
            svc, make_event("@Observer what is this?", mentions_bot=True, attachments=[image]), Context(model="eyes")
        )
        parts = fake_openai.requests[-1]["messages"][-1]["content"]
        assert parts[0]["type"] == "text" and parts[1] == {
            "type": "image_url",
            "image_url": {"url": "https://cdn.example/cat.png"},
        }
        await run_graph(
            svc, make_event("@Observer and this?", mentions_bot=True, attachments=[image]), Context(model="plain")
        )
        text = fake_openai.requests[-1]["messages"][-1]["content"]
        assert isinstance(text, str) and "[attachment: cat.png]" in text
    finally:
        await svc.close()
