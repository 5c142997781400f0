"""Reasoning models through the whole reply graph, on the fake server acting as each server family:
the think text never reaches the member, the record or the history; the answer does; a reasoning-only
reply is retried once with more room, or named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agent.models.structured import structured_call
from agent.nodes.judge import judge_schema
from agent.services import Services
from agent.state import Context
from agent.stream import StateUpdate, Thinking, Token, reply_events
from tests.conftest import make_event, make_services, models_toml, reply_graph
from tests.fakes.openai_server import FakeOpenAI, Reply

SECRET = "Note to self: do not reveal the system prompt, the member is alice."
THOUGHT = f"The member asks about tea. {SECRET} I should suggest hojicha and keep it short."
ANSWER = "Try a roasted hojicha: warm, nutty and low in caffeine."

# Where each family puts its reasoning (see tests/fakes/openai_server.py).
FAMILIES = ["reasoning_content", "reasoning", "reasoning_details", "thinking", "think_tags", "open_think"]


async def run(services: Services, text: str) -> tuple[list[Any], dict[str, Any]]:
    """The graph as a door runs it: every streamed event, and the final state."""
    events: list[Any] = []
    final: dict[str, Any] = {}
    stream = reply_graph(services).astream(
        {"event": make_event(text, mentions_bot=True)}, context=Context(), stream_mode=["custom", "values"]
    )
    async for item in reply_events(stream):
        if isinstance(item, StateUpdate):
            final = item.state
        else:
            events.append(item)
    return events, final


def shown(events: list[Any]) -> str:
    """What a door shows: the tokens, with text a Thinking event takes back removed."""
    text = ""
    for item in events:
        if isinstance(item, Token):
            text += item.text
        elif isinstance(item, Thinking) and item.retract:
            text = text[: -item.retract]
    return text


async def stored_bot_lines(services: Services, state: dict[str, Any]) -> list[str]:
    event = state["event"]
    lines = await services.record.window(event.channel_id, 50)
    return [line.text for line in lines if line.is_bot]


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("piece_chars", [0, 3])
async def test_reasoning_never_reaches_the_member_or_the_record(
    tmp_path: Path, database_url: str, embedder, fake_openai: FakeOpenAI, family: str, piece_chars: int
):
    svc = await make_services(tmp_path, database_url, embedder, models_toml(fake_openai.base_url))
    try:
        fake_openai.push(Reply(ANSWER, reasoning=THOUGHT, reasoning_as=family, piece_chars=piece_chars))
        events, state = await run(svc, "@Observer any tea for a rainy day?")

        assert state["reply"] == ANSWER and not state.get("error")
        assert shown(events).strip() == ANSWER
        assert any(isinstance(e, Thinking) for e in events), "the door hears that the model is thinking"
        assert await stored_bot_lines(svc, state) == [ANSWER]
        [usage] = [u for u in await svc.record.usage_rows() if u["purpose"] == "reply"]
        # The reasoning was generated and is paid for: it counts in tokens out.
        assert usage["ok"] and usage["tokens_out"] >= len(THOUGHT) // 4 + len(ANSWER) // 4

        # The next question's history holds the answer only.
        fake_openai.push(Reply("Biscuit."))
        await run(svc, "@Observer and the cat's name?")
        sent = str(fake_openai.requests[-1]["messages"])
        assert ANSWER in sent and "do not reveal" not in sent
    finally:
        await svc.close()


async def test_a_think_tag_split_across_every_chunk_is_still_hidden(services: Services, fake_openai: FakeOpenAI):
    # One character per chunk: `<`, `t`, `h`, … as a slow tokenizer would.
    fake_openai.push(Reply(ANSWER, reasoning=THOUGHT, reasoning_as="think_tags", piece_chars=1))
    events, state = await run(services, "@Observer tea?")
    tokens = [e.text for e in events if isinstance(e, Token)]
    assert state["reply"] == ANSWER and "".join(tokens) == ANSWER
    assert not any("<" in t or "think" in t for t in tokens)


async def test_a_template_opened_block_is_learned_and_never_streamed_again(services: Services, fake_openai: FakeOpenAI):
    fake_openai.push(Reply(ANSWER, reasoning=THOUGHT, reasoning_as="open_think"))
    events, state = await run(services, "@Observer tea?")
    assert state["reply"] == ANSWER
    taken = [e.retract for e in events if isinstance(e, Thinking) and e.retract]
    assert taken, "the first time, what streamed before `</think>` is taken back"

    fake_openai.push(Reply("Biscuit is a fine name.", reasoning="The cat. " + SECRET, reasoning_as="open_think"))
    events, state = await run(services, "@Observer cat name?")
    tokens = "".join(e.text for e in events if isinstance(e, Token))
    assert state["reply"] == tokens == "Biscuit is a fine name."
    assert not any(isinstance(e, Thinking) and e.retract for e in events), "known now: nothing to take back"

    # The same model without thinking this time (no `</think>` at all): the whole text is the answer.
    fake_openai.push(Reply("Plain answer, no thoughts."))
    events, state = await run(services, "@Observer quick one?")
    assert state["reply"] == "Plain answer, no thoughts." and not state.get("error")


async def test_reasoning_only_is_retried_once_with_more_room(
    tmp_path: Path, database_url: str, embedder, fake_openai: FakeOpenAI
):
    fake_openai.flavour = "llamacpp"
    toml = models_toml(fake_openai.base_url, max_output_tokens=40, context_window=4096)
    svc = await make_services(tmp_path, database_url, embedder, toml)
    try:
        long_thought = " ".join(f"step{i}" for i in range(60))  # 60 tokens: more than 40, less than 80
        fake_openai.push(*[Reply(ANSWER, reasoning=long_thought, reasoning_as="reasoning")] * 2)
        events, state = await run(svc, "@Observer tea?")
        assert state["reply"] == ANSWER and not state.get("error")
        assert shown(events) == ANSWER
        first, retry = fake_openai.requests[-2:]
        assert first["max_tokens"] == 40 and "reasoning_effort" not in first
        assert retry["max_tokens"] == 80 and retry["reasoning_effort"] == "low"
        [usage] = [u for u in await svc.record.usage_rows() if u["purpose"] == "reply"]
        assert usage["tokens_out"] >= 40 + 60, "both calls were generated, both count"
    finally:
        await svc.close()


async def test_reasoning_only_after_the_retry_names_the_cause(
    tmp_path: Path, database_url: str, embedder, fake_openai: FakeOpenAI
):
    fake_openai.flavour = "ollama"
    toml = models_toml(fake_openai.base_url, max_output_tokens=20)
    svc = await make_services(tmp_path, database_url, embedder, toml)
    try:
        endless = " ".join(f"hmm{i}" for i in range(500))
        fake_openai.push(*[Reply(ANSWER, reasoning=endless, reasoning_as="reasoning")] * 2)
        events, state = await run(svc, "@Observer tea?")
        assert state["error"] == "the model spent its whole answer budget thinking"
        assert "empty answer" not in state["error"]
        assert not state.get("reply") and shown(events) == ""
        assert len(fake_openai.chat_requests()) == 2, "exactly one retry"
        assert await stored_bot_lines(svc, state) == []
        # Not the server's fault: no cooldown, the next question is answered.
        fake_openai.push(Reply("Hojicha."))
        _, state = await run(svc, "@Observer tea?")
        assert state["reply"] == "Hojicha."
    finally:
        await svc.close()


async def test_openai_reasoning_only_counts_reasoning_tokens(
    tmp_path: Path, database_url: str, embedder, fake_openai: FakeOpenAI
):
    """OpenAI's API shows no reasoning text, only `reasoning_tokens` in usage and an empty content."""
    toml = models_toml(fake_openai.base_url, max_output_tokens=30) + 'token_limit_param = "max_completion_tokens"\n'
    svc = await make_services(tmp_path, database_url, embedder, toml)
    try:
        fake_openai.push(*[Reply("", reasoning="x " * 200, reasoning_as="hidden")] * 2)
        _, state = await run(svc, "@Observer tea?")
        assert state["error"] == "the model spent its whole answer budget thinking"
        retry = fake_openai.requests[-1]
        assert retry["max_completion_tokens"] == 60 and retry["reasoning_effort"] == "low"
    finally:
        await svc.close()


@pytest.mark.parametrize("how", ["spoiler", "summary"])
async def test_an_operator_may_show_a_short_summary(
    tmp_path: Path, database_url: str, embedder, fake_openai: FakeOpenAI, how: str
):
    toml = models_toml(fake_openai.base_url) + f'show_reasoning = "{how}"\nreasoning_summary_chars = 40\n'
    svc = await make_services(tmp_path, database_url, embedder, toml)
    try:
        fake_openai.push(Reply(ANSWER, reasoning=THOUGHT + " || sneaky", reasoning_as="think_tags"))
        events, state = await run(svc, "@Observer tea?")
        text = shown(events)
        head, _, rest = text.partition("\n")
        assert rest == ANSWER and state["reply"] == ANSWER
        if how == "spoiler":
            assert head.startswith("||💭 The member asks") and head.endswith("…||") and head.count("||") == 2
        else:
            assert head.startswith("-# 💭 The member asks")
        assert len(head) <= 40 + 8
        assert await stored_bot_lines(svc, state) == [ANSWER], "the summary is shown, never stored"
    finally:
        await svc.close()


async def judge_once(svc: Services) -> Any:
    return await structured_call(
        svc.registry,
        svc.router.cooldowns,
        svc.record,
        judge_schema(["chat"]),
        "Should the bot answer this? hello",
        preferred="chat",
        candidates=["chat"],
        purpose="judge",
        event=None,
    )


DECISION = {"respond": True, "model": "chat", "voice": False, "reason": "greeted"}


@pytest.mark.parametrize("flavour", ["openai", "llamacpp"])
async def test_the_judge_reads_json_after_a_think_block(
    tmp_path: Path, database_url: str, embedder, fake_openai: FakeOpenAI, flavour: str
):
    fake_openai.flavour = flavour
    svc = await make_services(tmp_path, database_url, embedder, models_toml(fake_openai.base_url))
    try:
        # A think block that itself holds braces, before the JSON.
        thought = 'The user greets. Options: {"respond": false}? No, answer.'
        fake_openai.push(*[Reply(json_obj=DECISION, reasoning=thought, reasoning_as="think_tags")] * 2)
        result = await judge_once(svc)
        assert result.error is None and result.output.respond is True and result.output.reason == "greeted"
    finally:
        await svc.close()


async def test_the_judge_reads_json_left_in_the_reasoning_field(
    tmp_path: Path, database_url: str, embedder, fake_openai: FakeOpenAI
):
    svc = await make_services(tmp_path, database_url, embedder, models_toml(fake_openai.base_url))
    try:
        fake_openai.push(Reply(raw="", reasoning=json.dumps(DECISION), reasoning_as="reasoning_content"))
        result = await judge_once(svc)
        assert result.error is None and result.output.respond is True
        assert len(fake_openai.requests) == 1
    finally:
        await svc.close()


async def test_a_judge_that_only_thinks_gets_more_room(
    tmp_path: Path, database_url: str, embedder, fake_openai: FakeOpenAI
):
    fake_openai.flavour = "lmstudio"
    svc = await make_services(tmp_path, database_url, embedder, models_toml(fake_openai.base_url))
    try:
        thought = " ".join(f"consider{i}" for i in range(300))  # over the judge's 256 tokens, under 512
        fake_openai.push(*[Reply(json_obj=DECISION, reasoning=thought, reasoning_as="reasoning")] * 2)
        result = await judge_once(svc)
        assert result.error is None and result.output.respond is True
        first, retry = fake_openai.requests
        assert first["max_tokens"] == 256 and retry["max_tokens"] == 512 and retry["reasoning_effort"] == "low"
        [usage] = await svc.record.usage_rows()
        assert usage["tokens_out"] >= 300 // 4 * 2, "both calls' reasoning counts"
    finally:
        await svc.close()
