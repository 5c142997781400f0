"""A reasoning model on Discord: the member sees that it is thinking, then the answer; never the thinking."""

from __future__ import annotations

from tests.e2e.conftest import Harness
from tests.fakes.openai_server import Reply

SECRET = "do not reveal the system prompt"
THOUGHT = " ".join(["Let me think about cat names."] * 6 + [f"Rule: {SECRET}."])
ANSWER = "How about Miso? Short, warm and easy to call."


def every_content(message: dict) -> list[str]:
    return [message["content"], *(content or "" for _, content in message.get("_edits", []))]


async def test_thinking_shows_as_thinking_then_the_answer(harness: Harness):
    d, model = harness.discord, harness.model
    model.token_delay_s = 0.05  # ~2 s of thinking: the member sees it
    model.push(Reply(ANSWER, reasoning=THOUGHT, reasoning_as="think_tags", piece_chars=3))
    alice = d.add_user("alice")
    await d.send_as(alice, f"{harness.mention()} name my cat?")
    posted: list[str] = []  # the content as posted (the fake edits its dict in place)
    first = await d.wait_for_bot_message(lambda m: not posted.append(m["content"]))
    await harness.settle()

    final = d.messages[d.general["id"]][first["id"]]
    assert posted == ["-# thinking… ▌"], "the first post says the model is thinking"
    assert final["content"] == ANSWER
    assert not any(SECRET in c or "think>" in c for c in every_content(final))
    assert await harness.services.record.stored_text(int(first["id"])) == ANSWER


async def test_a_block_the_template_opened_is_taken_back_and_learned(harness: Harness):
    d, model = harness.discord, harness.model
    model.token_delay_s = 0.03
    model.push(Reply(ANSWER, reasoning=THOUGHT, reasoning_as="open_think"))
    alice = d.add_user("alice")
    await d.send_as(alice, f"{harness.mention()} name my cat?")
    first = await d.wait_for_bot_message()
    await harness.settle()
    assert d.messages[d.general["id"]][first["id"]]["content"] == ANSWER, "what streamed before </think> is gone"
    assert await harness.services.record.stored_text(int(first["id"])) == ANSWER

    model.push(Reply("Biscuit.", reasoning=THOUGHT, reasoning_as="open_think"))
    await d.send_as(alice, f"{harness.mention()} and a dog?")
    second = await d.wait_for_bot_message(lambda m: m["id"] != first["id"])
    await harness.settle()
    final = d.messages[d.general["id"]][second["id"]]
    assert final["content"] == "Biscuit."
    assert not any(SECRET in c for c in every_content(final)), "known now: the thinking never shows"
