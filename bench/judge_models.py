"""Which bundled model should judge? Each bundled model, in process on this machine's cores, as the judge.

30 labelled channel messages (English, Japanese, Portuguese, Russian): 15 that ask the bot something
(by name or mention) and 15 that are banter between members. Through Observer's real judge prompt and
structured call (the JSON-schema grammar), one model at a time; per model: how many decisions parsed,
how many agree with the label, and the judge call's latency.

    .venv/bin/python -m bench.judge_models [--models qwen2.5-coder-0.5b-instruct gemma-3-270m]

Prints figures; never fails on them.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from agent.memory.embeddings import LocalE5Embedder
from bench.harness import judge_once, summary
from tests.conftest import make_services

ASKS = [
    "@Observer what's the capital of France?",
    "Observer, do you know a good tea for winter?",
    "Observer help me write a haiku about rain",
    "@Observer can you summarize the last hour?",
    "hey Observer, what does 'ephemeral' mean?",
    "Observer、おすすめのお茶はありますか？",
    "Observerは何ができるの？",
    "@Observer 日本の首都はどこですか？",
    "Observer、猫の名前を考えてほしい",
    "@Observer qual é a capital do Brasil?",
    "Observer, você pode me recomendar um livro?",
    "Observer, me explica como funcionam as recompensas?",
    "@Observer какая столица России?",
    "Observer, посоветуй хорошую книгу",
    "Observer, сколько дней в неделе?",
]
BANTER = [
    "lol that was hilarious",
    "brb dinner",
    "gm everyone",
    "ok I'm heading to bed, night all",
    "happy birthday Ken!!",
    "I disagree with you Sam, the old map was better",
    "おはようございます！",
    "ありがとう、助かりました",
    "眠い…",
    "ラーメン食べたい",
    "kkkkk muito bom",
    "boa noite pessoal",
    "valeu Ana, até amanhã",
    "всем привет",
    "спасибо, Миша, до завтра",
]


def toml_for(model: str) -> str:
    return (
        f'[[models]]\nname = "local"\nprovider = "local"\nmodel = "{model}"\ncontext_window = 2048\n'
        "max_output_tokens = 64\n"
    )


async def judge(model: str) -> None:
    with tempfile.TemporaryDirectory(prefix="observer-judge-") as tmp:
        tmp_path = Path(tmp)
        svc = await make_services(
            tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'bench.db'}", LocalE5Embedder(), toml_for(model)
        )
        try:
            parsed = agreed = 0
            latencies: list[float] = []
            misses: list[str] = []
            labelled = [(t, True) for t in ASKS] + [(t, False) for t in BANTER]
            for i, (text, wanted) in enumerate([("warm up: loads the model", False), *labelled]):
                result = await judge_once(svc, text, ["local"])
                if i == 0:
                    continue
                latencies.append(result.model_ms)
                if result.output is None:
                    misses.append(f"unparsed {text!r}: {result.error}")
                    continue
                parsed += 1
                if bool(result.output.respond) == wanted:  # type: ignore[attr-defined]
                    agreed += 1
                else:
                    misses.append(f"{'missed' if wanted else 'answered'} {text!r}")
            n = len(labelled)
            print(
                f"{model} as judge: {parsed}/{n} parsed, {agreed}/{n} = {100 * agreed / n:.0f} % agree with the label"
            )
            print("  " + summary("judge call", latencies))
            for miss in misses:
                print("  ", miss)
        finally:
            await svc.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    from agent.models.bundled import CATALOGUE

    installed = [key for key, entry in CATALOGUE.items() if entry.installed()]
    parser.add_argument("--models", nargs="+", default=installed, help="default: every bundled model installed")
    args = parser.parse_args()
    for model in args.models:
        await judge(model)


if __name__ == "__main__":
    asyncio.run(main())
