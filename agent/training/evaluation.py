"""`/test` and `observer test`: a test set run through one model or two side by side, scored.

A test set is a list of cases: the conversation before an answer (chat messages) and the expected
answer. It comes from the held-out part of the built dataset (the default), an uploaded JSONL file, or
inline JSON — the same formats `/train example add` reads (OpenAI chat JSONL, preference format,
prompt/answer pairs), a JSON array of them too. Negative examples are not test cases.

Scores per answer:
- exact: the answer is the expected text (Unicode NFKC, case, whitespace and closing punctuation aside);
- contains: the expected text appears in the answer (same normalisation);
- similarity: cosine of the two texts' embeddings by the bot's embedder (the bundled multilingual E5
  by default), -1…1;
- graded: a grader model from the list, asked with `prompts/grade.md`, said the answer is right.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from agent.models.failures import describe_failure
from agent.models.reasoning import split_text
from agent.training.dataset import BuiltDataset, ExampleError, parse_examples

MAX_CASES = 50  # a test posts per-example details; past this the run is long and the report unreadable
# What is embedded of an answer: the embedder reads about 512 tokens anyway, and a long answer's cost
# grows with its length while it holds the embedder the bot's memory search also waits for.
EMBED_CHARS = 2_000
# A grader's first word, in the languages served (and a few the grader may answer in anyway).
YES = frozenset(
    {"yes", "y", "yep", "yeah", "correct", "right", "true", "sim", "oui", "sí"}
    | {"да", "верно", "はい", "是", "是的", "对"}
)
NO = frozenset(
    {"no", "n", "nope", "incorrect", "wrong", "false", "não", "nao", "non"}
    | {"нет", "неверно", "いいえ", "否", "不是", "不对"}
)
_CLOSING = " .。!！?？,，、;；:：…\"'“”‘’」』)）"


@dataclass(frozen=True)
class TestCase:
    """One question: `prompt` the chat messages before the answer (system first when there is one)."""

    __test__ = False  # not a pytest class

    prompt: list[dict[str, str]]
    expected: str

    @property
    def question(self) -> str:
        """The last member message: what a reader of the report recognises the case by."""
        return next((m["content"] for m in reversed(self.prompt) if m["role"] == "user"), "")


@dataclass
class Answer:
    """One model's answer to one case, scored. `seconds`: the call's wall time."""

    text: str
    seconds: float
    exact: bool = False
    contains: bool = False
    similarity: float | None = None
    graded: bool | None = None
    error: str | None = None  # the call failed: its redacted reason (the text is then empty)


@dataclass(frozen=True)
class ModelScore:
    """One model's summary over the cases it was asked. Rates are 0…1; `similarity` is the mean cosine."""

    model: str
    cases: int
    exact: float
    contains: float
    similarity: float | None
    graded: float | None
    mean_seconds: float
    errors: int


@dataclass
class TestReport:
    """What a test run found: per case each model's answer, and per model the scores."""

    __test__ = False

    cases: list[TestCase]
    models: list[str]
    answers: dict[str, list[Answer]]
    total: int  # cases in the set before MAX_CASES
    grader: str | None = None
    scores: list[ModelScore] = field(default_factory=list)

    def table(self) -> str:
        """A fixed-width summary table (for a code block or a terminal)."""
        head = ["model", "exact", "contains", "similar", "graded", "s/answer", "errors"]
        rows = [
            [
                s.model,
                f"{s.exact:.0%}",
                f"{s.contains:.0%}",
                "—" if s.similarity is None else f"{s.similarity:.2f}",
                "—" if s.graded is None else f"{s.graded:.0%}",
                f"{s.mean_seconds:.1f}",
                str(s.errors),
            ]
            for s in self.scores
        ]
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
        lines = [
            "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
            for r in [head, *rows]
        ]
        return "\n".join(line.rstrip() for line in lines)

    def heading(self) -> str:
        shown = f"{len(self.cases)} of {self.total}" if self.total > len(self.cases) else str(len(self.cases))
        vs = " vs ".join(self.models)
        graded = f", graded by {self.grader}" if self.grader else ""
        return f"Test of {vs} on {shown} example{'s' if len(self.cases) != 1 else ''}{graded}"

    def details(self) -> str:
        """Per case: the question, the expected answer and each model's answer with its marks (Markdown)."""
        out: list[str] = [f"# {self.heading()}", "", "```", self.table(), "```", ""]
        for i, case in enumerate(self.cases):
            out += [f"## {i + 1}. {case.question}", f"- expected: {case.expected}"]
            for model in self.models:
                a = self.answers[model][i]
                marks = _marks(a)
                said = f"(failed: {a.error})" if a.error else a.text.replace("\n", " ")
                out.append(f"- **{model}** {marks}: {said}")
            out.append("")
        return "\n".join(out)


def _marks(a: Answer) -> str:
    if a.error:
        return "✗"
    parts = ["exact" if a.exact else ("contains" if a.contains else "miss")]
    if a.similarity is not None:
        parts.append(f"sim {a.similarity:.2f}")
    if a.graded is not None:
        parts.append("graded right" if a.graded else "graded wrong")
    return "[" + ", ".join(parts) + "]"


# ----- test sets -----


def cases_from_dataset(built: BuiltDataset) -> list[TestCase]:
    """The held-out part of a built dataset as test cases (sft or dpo rows)."""
    cases: list[TestCase] = []
    for row in built.test:
        if "messages" in row:
            cases.append(TestCase(row["messages"][:-1], row["messages"][-1]["content"]))
        else:
            cases.append(TestCase(row["input"]["messages"], row["preferred_output"][0]["content"]))
    return _unique(cases)


def parse_test_set(text: str) -> list[TestCase]:
    """Test cases from JSONL or a JSON array (or one object) in the formats examples are read in.

    Raises ExampleError naming the line (or array item) that cannot be read, or when no positive
    example is in it."""
    examples = parse_examples(text, "positive")
    cases = [TestCase(messages[:-1], messages[-1]["content"]) for label, messages in examples if label == "positive"]
    if not cases:
        raise ExampleError("no positive example to test with (negative answers are not expected ones)")
    return _unique(cases)


def _unique(cases: list[TestCase]) -> list[TestCase]:
    seen: set[str] = set()
    out: list[TestCase] = []
    for c in cases:
        key = json.dumps([c.prompt, c.expected], ensure_ascii=False, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


# ----- scoring -----


def normalise(text: str) -> str:
    """NFKC, case-folded, whitespace collapsed, closing punctuation trimmed: 'Mrs. Okabe.' ~ 'mrs. okabe'."""
    folded = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    return folded.strip(_CLOSING)


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def _unspaced(char: str) -> bool:
    """A character of a script written without spaces between words (Han, kana, Hangul, Thai …)."""
    return "\u0e00" <= char <= "\u0eff" or "\u3000" <= char <= "\ud7ff" or "\uf900" <= char <= "\ufaff"


def _joins(left: str, right: str) -> bool:
    """Two characters side by side belong to one word: letters or digits of scripts written with spaces."""
    return left.isalnum() and right.isalnum() and not _unspaced(left) and not _unspaced(right)


def contains(said: str, want: str) -> bool:
    """`want` in `said` as whole words where the script has words ("7" is not in "17 cats", "no" not in
    "I do not know"); as text where it has none (東京 in 日本の首都は東京です, 7時半 in 朝7時半に)."""
    if not want:
        return False
    start = said.find(want)
    while start != -1:
        end = start + len(want)
        if (start == 0 or not _joins(said[start - 1], want[0])) and (
            end == len(said) or not _joins(want[-1], said[end])
        ):
            return True
        start = said.find(want, start + 1)
    return False


def mark(answer: Answer, expected: str) -> None:
    """Set the exact and contains marks of an answer."""
    said, want = normalise(answer.text), normalise(expected)
    answer.exact = bool(want) and said == want
    answer.contains = contains(said, want)


# ----- running -----

Ask = Callable[[str, list[dict[str, str]]], Awaitable[str]]
Embed = Callable[[list[str]], Awaitable[list[list[float]]]]


def registry_asker(registry: Any) -> Ask:
    """Asks a model of the registry at temperature 0 (repeatable), unstreamed; the answer without its
    reasoning (a `<think>` block or a reasoning field)."""
    from langchain_core.messages import convert_to_messages

    async def ask(model: str, prompt: list[dict[str, str]]) -> str:
        chat = registry.chat_model(model, 0.0, streaming=False)
        result = await chat.ainvoke(convert_to_messages(prompt))
        content = result.content if isinstance(result.content, str) else str(result.text)
        answer, _reasoning = split_text(content)  # reasoning is never scored nor shown
        return answer.strip()

    return ask


def embedder_similarity(embedder: Any) -> Embed:
    async def embed(texts: list[str]) -> list[list[float]]:
        return await asyncio.to_thread(embedder.embed_passages, texts)

    return embed


async def run_test(
    cases: list[TestCase],
    models: list[str],
    ask: Ask,
    *,
    embed: Embed | None = None,
    grade: Callable[[TestCase, str], Awaitable[bool | None]] | None = None,
    grader: str | None = None,
    limit: int = MAX_CASES,
    on_progress: Callable[[int, int], Awaitable[None]] | None = None,
) -> TestReport:
    """Ask every model every case (the first `limit`), one call at a time (a local model serves one at a
    time anyway; a remote one is not flooded), then score. A failed call is that answer's error, not
    the run's: the others still run."""
    chosen = cases[:limit]
    report = TestReport(chosen, list(models), {m: [] for m in models}, total=len(cases), grader=grader)
    done, todo = 0, len(chosen) * len(models)
    for case in chosen:
        for model in models:
            start = time.perf_counter()
            try:
                text = await ask(model, case.prompt)
                answer = Answer(text, time.perf_counter() - start)
            except Exception as exc:  # one failed call is recorded, the run goes on
                answer = Answer("", time.perf_counter() - start, error=describe_failure(exc))
            if answer.error is None:
                mark(answer, case.expected)
                if grade is not None:
                    answer.graded = await grade(case, answer.text)
            report.answers[model].append(answer)
            done += 1
            if on_progress is not None:
                await on_progress(done, todo)
    if embed is not None:
        await _similarities(report, embed)
    report.scores = [_score(model, report.answers[model]) for model in models]
    return report


async def _similarities(report: TestReport, embed: Embed) -> None:
    pairs = [(i, m) for m in report.models for i, a in enumerate(report.answers[m]) if a.error is None and a.text]
    if not pairs:
        return
    expected = await embed([c.expected[:EMBED_CHARS] for c in report.cases])
    answers = await embed([report.answers[m][i].text[:EMBED_CHARS] for i, m in pairs])
    for (i, m), vec in zip(pairs, answers, strict=True):
        report.answers[m][i].similarity = round(cosine(expected[i], vec), 4)


def _score(model: str, answers: list[Answer]) -> ModelScore:
    n = len(answers) or 1
    sims = [a.similarity for a in answers if a.similarity is not None]
    graded = [a.graded for a in answers if a.graded is not None]
    return ModelScore(
        model=model,
        cases=len(answers),
        exact=sum(a.exact for a in answers) / n,
        contains=sum(a.contains for a in answers) / n,
        similarity=sum(sims) / len(sims) if sims else None,
        graded=sum(graded) / len(graded) if graded else None,
        mean_seconds=sum(a.seconds for a in answers) / n,
        errors=sum(a.error is not None for a in answers),
    )


def grade_with(ask: Ask, grader: str, render: Callable[..., str]) -> Callable[[TestCase, str], Awaitable[bool | None]]:
    """A grader model asked with the `grade` prompt; its first word yes or no (in any case, through
    Markdown and an "Answer:" label, in the served languages) is the mark; anything else (or a failed
    call) no mark."""

    async def grade(case: TestCase, answer: str) -> bool | None:
        text = render(question=case.question, expected=case.expected, answer=answer)
        try:
            said = await ask(grader, [{"role": "user", "content": text}])
        except Exception:  # an ungraded answer, not a failed test
            return None
        words = re.findall(r"\w+", normalise(said).removeprefix("answer:").strip())
        word = words[0] if words and words[0] != "answer" else (words[1] if len(words) > 1 else "")
        return True if word in YES else False if word in NO else None

    return grade
