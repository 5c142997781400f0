"""The model · tokens · cost line under answers: how it reads, and that the models never read it back."""

from __future__ import annotations

import pytest

from agent.member_texts import CAPPED_LENGTH, usage_footer, without_notes


@pytest.mark.parametrize(
    ("cost", "shown"),
    [(0.0, "no cost"), (0.00001, "< $0.0001"), (0.0021, "$0.0021"), (0.125, "$0.12"), (3.456, "$3.46")],
)
def test_the_footer_reads_model_tokens_and_cost(cost: float, shown: str):
    assert usage_footer("gpt-4o", 1200, 34, cost) == f"-# gpt-4o · 1,234 tokens · {shown}"


def test_models_read_answers_without_the_footer():
    footer = usage_footer("chat", 10, 5, 0.0)
    assert without_notes(f"Miso.\n{footer}") == "Miso."
    assert without_notes(f"Miso{CAPPED_LENGTH}\n{footer}") == "Miso", "after a cut note too"
    assert without_notes(footer) == "", "a last part holding only the line"
    assert without_notes("we spent 3 · 4 tokens · lol") == "we spent 3 · 4 tokens · lol", "not a subtext line"
