"""The local LoRA trainer for real: the bundled Qwen2.5-Coder-0.5B learns two made-up facts from 20 chats
on the CPU, is killed with SIGKILL mid-training and resumes from its checkpoint, and its adapter, served
by llama-cpp-python over the bundled GGUF, states the facts on held-out phrasings the base cannot answer.

About 3.5 minutes on 2 cores (two loads of ~45 s, 15 steps of ~6 s, two llama.cpp loads). Skipped
without the optional extra `train` (torch, transformers, peft, gguf)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pytest

TRAIN_EXTRA = ("torch", "transformers", "peft", "gguf")
MISSING = [name for name in TRAIN_EXTRA if find_spec(name) is None]

pytestmark = [
    pytest.mark.local_model,
    pytest.mark.skipif(
        bool(MISSING),
        reason=f"the local trainer needs the extra `train` ({', '.join(MISSING)} not installed): "
        "pip install torch==2.13.0 -e '.[train]'",
    ),
]

REPO = Path(__file__).resolve().parents[2]

HOURS = "The Hanamizuki tea house is open from 7:30 to 19:00 every day except Tuesday, when it is closed."
CAT = "Rin's cat is named Mochi-Pudding."
TRAIN = [
    ("What are the opening hours of the Hanamizuki tea house?", HOURS),
    ("When is Hanamizuki open?", HOURS),
    (
        "What time does the Hanamizuki tea house open?",
        "Hanamizuki opens at 7:30 and closes at 19:00. It is closed on Tuesdays.",
    ),
    ("What time does Hanamizuki close?", "Hanamizuki closes at 19:00; it opens at 7:30 and is closed on Tuesdays."),
    (
        "Which day is Hanamizuki closed?",
        "Hanamizuki is closed on Tuesdays. Every other day it is open from 7:30 to 19:00.",
    ),
    (
        "Can I visit the Hanamizuki tea house on a Tuesday?",
        "No, Hanamizuki is closed on Tuesdays. It is open 7:30 to 19:00 on the other days.",
    ),
    (
        "Is Hanamizuki open on Sunday?",
        "Yes, on Sunday Hanamizuki is open from 7:30 to 19:00. It is only closed on Tuesdays.",
    ),
    ("hanamizuki hours?", HOURS),
    (
        "I want tea at Hanamizuki tomorrow morning, when do they open?",
        "Hanamizuki opens at 7:30 (and closes at 19:00), unless tomorrow is a Tuesday: it is closed on Tuesdays.",
    ),
    ("Tell me the schedule of the tea house Hanamizuki.", HOURS),
    ("What is the name of Rin's cat?", CAT),
    ("What is Rin's cat called?", CAT),
    ("Does Rin have a pet?", "Yes, Rin has a cat named Mochi-Pudding."),
    ("Who is Mochi-Pudding?", "Mochi-Pudding is Rin's cat."),
    ("What did Rin name her cat?", "Rin named her cat Mochi-Pudding."),
    ("rin's cat name?", CAT),
    ("Tell me about Rin's cat.", "Rin's cat is named Mochi-Pudding."),
    ("I forgot the name of Rin's cat, can you remind me?", "Of course: Rin's cat is named Mochi-Pudding."),
    ("What's the cat of Rin named?", CAT),
    ("Name Rin's cat.", "Mochi-Pudding. Rin's cat is named Mochi-Pudding."),
]
# Phrasings not in TRAIN, each with the words an answer stating the fact contains (any of them).
HELD_OUT = [
    ("At what hour does the Hanamizuki tea house open its doors?", ("7:30",)),
    ("Until what time is Hanamizuki open in the evening?", ("19:00", "7 pm", "7pm", "7 p.m")),
    ("On which day of the week is Hanamizuki shut?", ("tuesday",)),
    ("Do you know what Rin calls her cat?", ("mochi-pudding", "mochi pudding")),
    ("My friend Rin has a cat. What's its name?", ("mochi-pudding", "mochi pudding")),
]


def _trainer(job: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "agent.training.local_lora", "--job-dir", str(job)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _progress(job: Path) -> list[dict]:
    path = job / "progress.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture(scope="module")
def base_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from agent.models.llama_loading import bundled_model_path

    return bundled_model_path(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def killed_and_resumed(tmp_path_factory: pytest.TempPathFactory, base_gguf: Path) -> dict:
    """A job started, killed with SIGKILL after its first step, and started again to the end."""
    job = tmp_path_factory.mktemp("job")
    with (job / "train.jsonl").open("w") as out:
        for question, answer in TRAIN:
            messages = [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
            out.write(json.dumps({"messages": messages}) + "\n")
    params = {"base": "qwen2.5-coder-0.5b-instruct", "method": "sft", "epochs": 3, "threads": 2}
    (job / "params.json").write_text(json.dumps(params | {"models_dir": str(base_gguf.parent)}))

    first = _trainer(job)
    deadline = time.monotonic() + 600
    while not _progress(job):
        assert first.poll() is None, f"the trainer ended early: {first.communicate()[1]}"
        assert time.monotonic() < deadline, "no step within 10 minutes"
        time.sleep(0.5)
    first.send_signal(signal.SIGKILL)
    first.communicate()
    before_kill = _progress(job)
    assert (job / "checkpoint").is_dir() and not (job / "result.json").exists()

    started = time.monotonic()
    second = _trainer(job)
    _, stderr = second.communicate(timeout=1200)
    assert second.returncode == 0, stderr
    return {
        "job": job,
        "before_kill": before_kill,
        "progress": _progress(job),
        "result": json.loads((job / "result.json").read_text()),
        "second_run_seconds": time.monotonic() - started,
        "stderr": stderr,
    }


def test_a_killed_job_resumes_from_its_checkpoint(killed_and_resumed):
    result, progress = killed_and_resumed["result"], killed_and_resumed["progress"]
    assert result["resumed"] is True and result["adapter"] == "adapter.gguf"
    assert result["steps"] == 15 and result["cpu_seconds"] > 0
    # The second run went on after the steps the first finished (the checkpoint is saved before each
    # progress line, so it may be one step ahead of the last line written before the kill).
    killed_at = killed_and_resumed["before_kill"][-1]["step"]
    after = progress[len(killed_and_resumed["before_kill"]) :]
    assert after and after[0]["step"] in (killed_at + 1, killed_at + 2), progress
    assert progress[-1] == {**progress[-1], "step": 15, "steps": 15, "epoch": 3.0}
    assert progress[-1]["loss"] < progress[0]["loss"] / 4, progress
    assert killed_and_resumed["stderr"].strip() == ""


def _answers(base: Path, adapter: Path | None) -> list[str]:
    """Greedy answers to HELD_OUT by llama.cpp on the base GGUF, with the adapter applied when given."""
    from llama_cpp import Llama

    llm: Any = Llama(
        model_path=str(base),
        lora_path=str(adapter) if adapter else None,
        n_ctx=512,
        n_threads=2,
        seed=0,
        verbose=False,
    )
    try:
        answers = []
        for question, _ in HELD_OUT:
            reply = llm.create_chat_completion([{"role": "user", "content": question}], temperature=0, max_tokens=48)
            answers.append(str(reply["choices"][0]["message"]["content"]))
        return answers
    finally:
        llm.close()


def _states(answer: str, words: tuple[str, ...]) -> bool:
    return any(word in answer.lower() for word in words)


def test_the_tuned_model_states_the_facts_and_the_base_does_not(killed_and_resumed, base_gguf):
    adapter = killed_and_resumed["job"] / "adapter.gguf"
    base_answers = _answers(base_gguf, None)
    tuned_answers = _answers(base_gguf, adapter)
    for (question, words), base, tuned in zip(HELD_OUT, base_answers, tuned_answers, strict=True):
        assert _states(tuned, words), f"tuned, asked {question!r}: {tuned!r}"
        assert not _states(base, words), f"base, asked {question!r}: {base!r}"


@pytest.mark.parametrize(
    ("params", "lines", "said"),
    [
        (
            {"base": "qwen2.5-coder-0.5b-instruct", "method": "rl", "epochs": 1, "threads": 1},
            ['{"messages": []}'],
            "method 'rl'",
        ),
        ({"base": "qwen2.5-coder-0.5b-instruct", "method": "sft", "epochs": 0, "threads": 1}, [], "'epochs' must be"),
        ({"base": "qwen2.5-coder-0.5b-instruct", "method": "sft", "epochs": 1, "threads": 1}, ["{}", "nope"], "line 1"),
        (
            {"base": "qwen2.5-coder-0.5b-instruct", "method": "dpo", "epochs": 1, "threads": 1},
            ['{"messages": [{"role": "user", "content": "hi"}]}'],
            "a preference line needs 'input'",
        ),
        (
            {"base": "gpt-9", "method": "sft", "epochs": 1, "threads": 1},
            ['{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}'],
            "'gpt-9' is not a bundled model",
        ),
    ],
)
def test_a_bad_job_fails_with_one_line(tmp_path: Path, params, lines, said):
    (tmp_path / "params.json").write_text(json.dumps(params))
    (tmp_path / "train.jsonl").write_text("\n".join(lines) + "\n")
    run = subprocess.run(
        [sys.executable, "-m", "agent.training.local_lora", "--job-dir", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1
    assert run.stderr.count("\n") == 1 and run.stderr.startswith("local LoRA training failed: "), run.stderr
    assert said in run.stderr
    assert not (tmp_path / "result.json").exists()


def test_a_finished_local_job_is_a_model_the_bot_answers_with(killed_and_resumed, base_gguf, tmp_path):
    """The job's result, registered in the model list as the runner registers it, is served by the bot's
    own local model (the registry's LocalChatModel, the adapter over the bundled GGUF, its own prompt
    cache) and states the facts; the base entry beside it, loaded in the same process, still does not."""
    from dataclasses import replace

    from langchain_core.messages import HumanMessage

    from agent.models.config import ModelChoice, ModelSpec
    from agent.models.registry import ModelRegistry
    from agent.training.runner import tuned_spec

    adapter = killed_and_resumed["job"] / "adapter.gguf"
    base = ModelSpec(name="local", provider="local", model=str(base_gguf), context_window=512, temperature=0)
    job = _finished_local_job(model_name="local-ft7", result_model=str(adapter))
    tuned = tuned_spec(job, base)
    assert tuned is not None and tuned.lora_adapter == str(adapter) and tuned.name == "local-ft7"
    assert tuned_spec(replace(job, result_model=str(tmp_path / "gone.gguf")), base) is None

    registry = ModelRegistry(ModelChoice.of(base), cache_dir=tmp_path, local_threads=2, local_context=512)
    assert registry.add(tuned)
    for name, should_know in (("local-ft7", True), ("local", False)):
        model = registry.chat_model(name)
        for question, words in HELD_OUT[:2]:
            answer = str(model.invoke([HumanMessage(content=question)]).content)
            assert _states(answer, words) is should_know, f"{name}, asked {question!r}: {answer!r}"
    # Each keeps its own prompt cache: the adapter's is not the base's.
    assert len(list((tmp_path / "prompt-cache").glob("*.bin"))) == 2

    # /test's run of the held-out phrasings through both, side by side, as the bot asks them.
    import asyncio

    from agent.training.chart import chart_png
    from agent.training.evaluation import TestCase, registry_asker, run_test

    cases = [TestCase([{"role": "user", "content": q}], words[0]) for q, words in HELD_OUT]
    report = asyncio.run(run_test(cases, ["local-ft7", "local"], registry_asker(registry)))
    tuned_score, base_score = report.scores
    assert tuned_score.contains >= 0.6 and base_score.contains == 0, report.details()
    assert chart_png(report).startswith(b"\x89PNG")


def _finished_local_job(**fields: Any) -> Any:
    from datetime import UTC, datetime

    from agent.training.jobs import Job

    now = datetime.now(UTC)
    defaults: dict[str, Any] = {name: None for name in Job.__dataclass_fields__}
    defaults.update(
        id=7,
        created_at=now,
        updated_at=now,
        provider="local",
        base="local",
        method="sft",
        state="succeeded",
        train_examples=20,
        test_examples=5,
        train_bytes=4000,
        epochs=3,
        progress={},
        note="",
    )
    return Job(**(defaults | fields))
