"""/test's scoring and test sets (agent/training/evaluation.py) and its chart: what a reader of the report
relies on — a right answer counted right in any script, a failed call not sinking the run, a secret in
a server's error never shown, a test set's bad line named."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.redact import remember_secrets
from agent.training.dataset import BuiltDataset, ExampleError
from agent.training.evaluation import (
    Answer,
    TestCase,
    cases_from_dataset,
    grade_with,
    mark,
    normalise,
    parse_test_set,
    run_test,
)


@pytest.mark.parametrize(
    ("said", "expected", "exact", "contains"),
    [
        ("Mrs. Okabe.", "Mrs. Okabe", True, True),
        ("MRS.  OKABE", "mrs. okabe", True, True),
        ("Mrs. Okabe runs it.", "Mrs. Okabe", False, True),
        ("日本の首都は東京です。", "東京", False, True),
        ("東京。", "東京", True, True),
        ("ＴＯＫＹＯ", "Tokyo", True, True),  # full-width letters as typed on a Japanese keyboard
        ("Москва", "москва", True, True),
        ("A capital é Brasília!", "brasília", False, True),
        ("Brasilia", "Brasília", False, False),  # an accent is a different word
        ("I have 17 cats", "7", False, False),  # whole words where the script has words
        ("I do not know", "no", False, False),
        ("It opens at 7.", "7", False, True),
        ("朝7時半に開きます。", "7時半", False, True),  # no words in Japanese: as text
        ("", "Mochi", False, False),
        ("Mochi", "", False, False),  # an empty expectation matches nothing
    ],
)
def test_marks(said: str, expected: str, exact: bool, contains: bool) -> None:
    answer = Answer(said, 0.1)
    mark(answer, expected)
    assert (answer.exact, answer.contains) == (exact, contains)


@given(st.text(max_size=40))
def test_normalising_twice_changes_nothing_and_exact_implies_contains(text: str) -> None:
    assert normalise(normalise(text)) == normalise(text)
    answer = Answer(text, 0.0)
    mark(answer, text)
    assert answer.contains is answer.exact is bool(normalise(text))


def test_test_sets_in_every_format_an_example_upload_takes() -> None:
    jsonl = "\n".join(
        [
            json.dumps({"prompt": "Who runs it?", "answer": "Mrs. Okabe"}),
            "",
            json.dumps(
                {"messages": [{"role": "user", "content": "猫の名前は？"}, {"role": "assistant", "content": "モチ"}]}
            ),
            json.dumps(
                {
                    "input": {"messages": [{"role": "user", "content": "Opening hour?"}]},
                    "preferred_output": [{"role": "assistant", "content": "7:30"}],
                    "non_preferred_output": [{"role": "assistant", "content": "9:00"}],
                }
            ),
            json.dumps({"prompt": "Who runs it?", "answer": "Mrs. Okabe"}),  # a repeat: asked once
        ]
    )
    cases = parse_test_set(jsonl)
    assert [(c.question, c.expected) for c in cases] == [
        ("Who runs it?", "Mrs. Okabe"),
        ("猫の名前は？", "モチ"),
        ("Opening hour?", "7:30"),  # the preferred answer is expected; the other is not a case
    ]
    as_array = parse_test_set(json.dumps([{"question": "Q?", "response": "A"}, {"prompt": "R?", "completion": "B"}]))
    assert [(c.question, c.expected) for c in as_array] == [("Q?", "A"), ("R?", "B")]
    assert [c.expected for c in parse_test_set('{"prompt": "Q?", "answer": "A"}')] == ["A"]


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (
            '{"prompt": "a"}\n{"prompt": "b", "answer": "c"}',
            "line 1: expected 'messages', or a 'prompt' and an 'answer'",
        ),
        ('{"prompt": "a", "answer": "b"}\nnot json', "line 2: not JSON"),
        ('[{"prompt": "a", "answer": "b"}, ', "not JSON"),
        ("", "no examples in the file"),
        ("[" * 1500 + "]" * 1500, "nested too deeply"),  # fits /test's json: option; was a RecursionError
        (
            '{"prompt": "' + "a" * 20_001 + '", "answer": "b"}',
            "line 1: the example is 20,002 characters; at most 20,000",
        ),
        ('{"input": "x", "preferred_output": [], "non_preferred_output": []}', "'preferred_output' must be a list"),
    ],
)
def test_a_bad_test_set_names_what_is_wrong(text: str, said: str) -> None:
    with pytest.raises(ExampleError, match=said.replace("(", r"\(").replace(")", r"\)")):
        parse_test_set(text)


def test_the_held_out_part_of_a_built_dataset_is_the_default_set() -> None:
    system = {"role": "system", "content": "You are Observer."}
    built = BuiltDataset(
        method="sft",
        train=[{"messages": [system, {"role": "user", "content": "train me"}, {"role": "assistant", "content": "x"}]}],
        test=[
            {
                "messages": [
                    system,
                    {"role": "user", "content": "Member 1: cat?"},
                    {"role": "assistant", "content": "Mochi"},
                ]
            }
        ],
        sources={},
        duplicates=0,
        unpaired=0,
    )
    [case] = cases_from_dataset(built)
    assert case.prompt[0] == system and case.question == "Member 1: cat?" and case.expected == "Mochi"


async def test_a_failed_call_is_that_answers_error_and_the_run_goes_on() -> None:
    remember_secrets(["sk-test-4f9a8b7c6d5e4f3a2b1c"])
    cases = [TestCase([{"role": "user", "content": f"Q{i}?"}], f"A{i}") for i in range(3)]

    async def ask(model: str, prompt: list[dict[str, str]]) -> str:
        if model == "flaky" and prompt[-1]["content"] == "Q1?":
            raise RuntimeError("bad key sk-test-4f9a8b7c6d5e4f3a2b1c for this endpoint")
        return {"good": "A", "flaky": "A"}[model] + prompt[-1]["content"][1]

    seen: list[tuple[int, int]] = []

    async def progress(done: int, total: int) -> None:
        seen.append((done, total))

    report = await run_test(cases, ["good", "flaky"], ask, on_progress=progress, limit=2)
    assert report.total == 3 and len(report.cases) == 2, "the first `limit` cases"
    assert seen[-1] == (4, 4)
    good, flaky = report.scores
    assert (good.exact, good.contains, good.errors) == (1.0, 1.0, 0)
    assert (flaky.exact, flaky.errors) == (0.5, 1)
    error = report.answers["flaky"][1].error or ""
    assert "RuntimeError" in error and "sk-test" not in error and "sk-test" not in report.details()
    assert "(failed: RuntimeError" in report.details()


async def test_similarity_ranks_the_nearer_answer_higher() -> None:
    cases = [TestCase([{"role": "user", "content": "Q?"}], "up")]
    vectors = {"up": [1.0, 0.0], "near": [0.9, 0.1], "far": [0.0, 1.0]}

    async def ask(model: str, prompt: list[dict[str, str]]) -> str:
        return model

    async def embed(texts: list[str]) -> list[list[float]]:
        return [vectors[t] for t in texts]

    report = await run_test(cases, ["near", "far"], ask, embed=embed)
    near, far = report.scores
    assert near.similarity is not None and far.similarity is not None and near.similarity > 0.9 > far.similarity
    assert "similar" in report.table() and f"{near.similarity:.2f}" in report.table()


@pytest.mark.parametrize(
    ("said", "mark_"),
    [
        ("Yes.", True),
        ("no, it is not", False),
        ("**Yes**", True),
        ("Answer: yes", True),
        ("はい、正しいです。", True),
        ("Да", True),
        ("Sim", True),
        ("Nope", False),
        ("Нет.", False),
        ("Maybe", None),
        ("", None),
    ],
)
async def test_the_graders_first_word_is_the_mark(said: str, mark_: bool | None) -> None:
    async def ask(model: str, prompt: list[dict[str, str]]) -> str:
        assert model == "judge" and "Expected: Mochi" in prompt[0]["content"]
        return said

    def render(**values: str) -> str:
        return "Q: {question} Expected: {expected} Given: {answer}".format(**values)

    grade = grade_with(ask, "judge", render)
    assert await grade(TestCase([{"role": "user", "content": "cat?"}], "Mochi"), "Mochi") is mark_


async def test_the_chart_is_a_png_of_every_model() -> None:
    from PIL import Image

    from agent.training.chart import chart_png

    cases = [TestCase([{"role": "user", "content": "Q?"}], "A")]

    async def ask(model: str, prompt: list[dict[str, str]]) -> str:
        return "A" if model == "tuned" else "B"

    report = await run_test(cases, ["tuned", "base"], ask)
    picture = Image.open(io.BytesIO(chart_png(report)))
    assert picture.format == "PNG" and picture.size == (770, 396)
    colours = {c for _n, c in picture.convert("RGB").getcolors(1_000_000) or []}
    assert (0x58, 0x65, 0xF2) in colours, "the first model's bars are drawn"


def test_a_byte_order_mark_and_nul_characters_are_not_text() -> None:
    from agent.training.dataset import parse_examples

    [(_label, messages)] = parse_examples('\ufeff{"prompt": "Q?\\u0000", "answer": "A"}', "positive")
    assert messages[0]["content"] == "Q?", "Notepad's BOM read, NUL left out (PostgreSQL refuses it)"


async def test_a_long_answer_is_embedded_only_as_far_as_the_embedder_reads() -> None:
    from agent.training.evaluation import EMBED_CHARS

    cases = [TestCase([{"role": "user", "content": "Q?"}], "A")]
    seen: list[int] = []

    async def ask(model: str, prompt: list[dict[str, str]]) -> str:
        return "word " * 30_000

    async def embed(texts: list[str]) -> list[list[float]]:
        seen.extend(len(t) for t in texts)
        return [[1.0, 0.0] for _ in texts]

    await run_test(cases, ["wordy"], ask, embed=embed)
    assert max(seen) <= EMBED_CHARS
