from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from agent.events import ChatLine
from agent.models.config import ModelSpec
from agent.models.tokens import approx_tokens, shorten_middle
from agent.nodes.prompt_assembly import build_messages
from tests.conftest import make_event

texts = st.text(alphabet=st.sampled_from(list("abc xyz猫日本語🐱。,\n")), min_size=0, max_size=3000)


@settings(max_examples=60, deadline=None)
@given(history=st.lists(texts, max_size=40), message=texts, window=st.integers(min_value=600, max_value=6000))
def test_prompt_never_exceeds_the_window_and_keeps_the_message(history: list[str], message: str, window: int):
    spec = ModelSpec(name="m", model="m", context_window=window, max_output_tokens=128)
    lines = [ChatLine(message_id=i, author=f"u{i % 4}", text=t, is_bot=i % 5 == 0) for i, t in enumerate(history)]
    event = make_event(message, author="asker")
    messages, dropped = build_messages("system prompt", lines, event, spec, "Observer")
    total = sum(approx_tokens(str(m.content)) + 4 for m in messages)
    assert total + spec.max_output_tokens <= window
    sent = str(messages[-1].content)
    # The member's own words, without a `name:` label (the system prompt names them), whole or cut in the middle.
    if message.strip():
        assert sent == message.strip() or "characters cut" in sent
    else:  # a bare ping reads as a hello, not as "(sent no text)", which small models refused
        assert "no text" in sent and "hello" in sent
    assert str(messages[0].content) == "system prompt"
    kept = len(messages) - 2
    assert kept + dropped == len(lines)
    # What is kept is the newest context, in order.
    if kept:
        assert str(messages[-2].content).endswith(lines[-1].text)


def test_a_bare_ping_in_reply_asks_about_the_replied_message():
    spec = ModelSpec(name="m", model="m", context_window=4096, max_output_tokens=128)
    event = make_event("", author="asker", reply_to_id=7)
    messages, _ = build_messages("system prompt", [], event, spec, "Observer")
    assert "in reply to an earlier message" in str(messages[-1].content)


def test_shorten_middle_keeps_head_and_tail():
    text = "start " + "x" * 50_000 + " end"
    short = shorten_middle(text, 500)
    assert short.startswith("start ") and short.endswith(" end") and "characters cut" in short
    assert approx_tokens(short) <= 520


def test_cjk_counts_one_token_per_character():
    assert approx_tokens("猫猫猫猫") == 4
    assert approx_tokens("abcdefgh") == 2
