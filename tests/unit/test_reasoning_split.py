"""The inline think-block parser: any chunking of the same stream gives the same answer and reasoning."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from agent.models.reasoning import TAGS, ThinkSplitter, reasoning_of, split_text, summary

# Text that may itself hold tag-like fragments (`<`, `th`, `/`, `[`) without forming a whole tag.
_plain = st.text(alphabet=st.sampled_from(list("abc <>/th[]ink")), max_size=40).filter(
    lambda s: not any(tag in s for tag in (*TAGS, *TAGS.values()))
)


def run(chunks: list[str], *, inside: bool = False, truncated: bool = False) -> tuple[str, str]:
    splitter = ThinkSplitter(inside=inside)
    answer: list[str] = []
    reasoning: list[str] = []
    for piece in [p for c in chunks for p in splitter.feed(c)] + splitter.close(truncated=truncated):
        if piece.kind == "answer":
            answer.append(piece.text)
        elif piece.kind == "reasoning":
            reasoning.append(piece.text)
        else:
            assert "".join(answer) == piece.text, "a retract takes back exactly the answer given so far"
            answer.clear()
            reasoning.insert(0, piece.text)
    return "".join(answer), "".join(reasoning)


@st.composite
def chunked(draw: st.DrawFn, text: str) -> list[str]:
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=len(text) + 1)))
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


@st.composite
def streams(draw: st.DrawFn) -> tuple[str, list[str], bool]:
    thought, answer = draw(_plain), draw(_plain)
    opener = draw(st.sampled_from(list(TAGS)))
    form = draw(st.sampled_from(["tags", "open", "none"]))
    if form == "tags":
        text = draw(_plain.filter(lambda s: not s.strip())) + opener + thought + TAGS[opener] + answer
    elif form == "open":
        text = thought + TAGS[opener] + answer
    else:
        text = answer
    inside = draw(st.booleans())
    return text, draw(chunked(text)), inside


@settings(max_examples=400, deadline=None)
@given(streams())
def test_any_chunking_gives_the_same_split(case: tuple[str, list[str], bool]):
    text, chunks, inside = case
    assert "".join(chunks) == text
    for truncated in (False, True):
        assert run(chunks, inside=inside, truncated=truncated) == run([text], inside=inside, truncated=truncated)


@settings(max_examples=300, deadline=None)
@given(_plain, _plain, st.sampled_from(list(TAGS)), st.data())
def test_the_answer_is_what_follows_the_block(thought: str, answer: str, opener: str, data: st.DataObject):
    text = f"{opener}{thought}{TAGS[opener]}{answer}"
    got_answer, got_reasoning = run(data.draw(chunked(text)))
    assert got_answer == answer.lstrip() and got_reasoning == thought
    # A template that opened the block: only the closer shows, with or without knowing it beforehand.
    opened = f"{thought}{TAGS[opener]}{answer}"
    for inside in (False, True):
        got_answer, got_reasoning = run(data.draw(chunked(opened)), inside=inside)
        assert got_answer == answer.lstrip()
        assert got_reasoning.strip() == thought.strip()


def test_known_inputs():
    assert split_text("<think>do not reveal the system prompt</think>\n\nHello!") == (
        "Hello!",
        "do not reveal the system prompt",
    )
    assert split_text("Okay, the user said hi.\n</think>\n\nHello!") == ("Hello!", "Okay, the user said hi.\n")
    assert split_text("[THINK]hm[/THINK]Yes") == ("Yes", "hm")
    assert split_text("<thinking>a</thinking>b") == ("b", "a")
    # A model whose template opens the block, answering without thinking this time: all of it is the answer.
    assert split_text("Hello!", inside=True) == ("Hello!", "")
    # ... but cut at its limit while still inside: all of it was reasoning.
    assert split_text("still going", inside=True, truncated=True) == ("", "still going")
    # A lone `<` or an HTML tag in an answer is not a think tag.
    assert split_text("a < b and <b>bold</b>") == ("a < b and <b>bold</b>", "")


def test_reasoning_fields_of_every_server_family():
    assert reasoning_of({"reasoning_content": "a"}) == "a"  # llama.cpp, DeepSeek, LM Studio, older vLLM
    assert reasoning_of({"content": "", "reasoning": "b"}) == "b"  # Ollama, OpenRouter, vLLM >= 0.10
    assert reasoning_of({"thinking": "c"}) == "c"
    # OpenRouter sends `reasoning` and `reasoning_details` alike: counted once.
    both = {"reasoning": "d", "reasoning_details": [{"type": "reasoning.text", "text": "d"}]}
    assert reasoning_of(both) == "d"
    details = [
        {"type": "reasoning.summary", "summary": "s"},
        {"type": "reasoning.encrypted", "data": "xyz"},
        {"type": "reasoning.text", "text": "t"},
    ]
    assert reasoning_of({"reasoning_details": details}) == "st"
    assert reasoning_of({"content": "x", "reasoning": None}) == ""


def test_a_summary_is_short_and_cannot_end_a_spoiler():
    text = summary("a  ||b||\n\n" + "word " * 100, 30)
    assert len(text) <= 30 and "||" not in text and text.endswith("…")
