"""Does the offline default answer? 24 simple questions (12 more held out: `--held-out`) in English, Japanese, Portuguese and Russian.

Each question is asked as a member would, through `observer chat --once "@Observer …"` (a new
process each time, Observer's real prompts, each question in a channel of its own unless
`--one-channel`, where each sees the earlier questions and answers), for every bundled model; then the same model is asked
bare (one chat call with a one-line system prompt, the same sampling): the ceiling. An answer is right when it contains
one of the expected words and is written in the question's language (its script). Also prints each console call's wall time (the first one cold: a fresh
data dir, the model assembled and loaded), and the bundled model's speed.

    .venv/bin/python -m bench.offline_questions [--models qwen2.5-coder-0.5b-instruct gemma-3-270m]
        [--checkout PATH]   # another checkout's code (e.g. main before a change), same questions

Prints figures; never fails on them.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from agent.models.japanese_script import foreign_han
from bench.child_env import user_env

QUESTIONS: list[tuple[str, str, tuple[str, ...]]] = [
    ("en", "What is the capital of France?", ("paris",)),
    ("en", "What is the capital of Japan?", ("tokyo",)),
    ("en", "How many days are in a week?", ("7", "seven")),
    ("en", "What color is the sky on a clear day?", ("blue",)),
    ("en", "What is 12 plus 30?", ("42", "forty-two", "forty two")),
    ("en", "What is the chemical formula of water?", ("h2o", "h₂o")),
    ("ja", "日本の首都はどこですか？", ("東京", "tokyo", "とうきょう")),
    ("ja", "フランスの首都はどこですか？", ("パリ", "paris")),
    ("ja", "1週間は何日ですか？", ("7", "七")),
    ("ja", "水の化学式は何ですか？", ("h2o", "h₂o")),
    ("ja", "晴れた日の空は何色ですか？", ("青", "blue")),
    ("ja", "10足す5はいくつですか？", ("15", "十五")),
    ("pt", "Qual é a capital do Brasil?", ("brasília", "brasilia")),
    ("pt", "Qual é a capital de Portugal?", ("lisboa", "lisbon")),
    ("pt", "Quantos dias tem uma semana?", ("7", "sete")),
    ("pt", "De que cor é o céu num dia claro?", ("azul",)),
    ("pt", "Quanto é 2 mais 3?", ("5", "cinco")),
    ("pt", "Qual é a fórmula química da água?", ("h2o", "h₂o")),
    ("ru", "Какая столица России?", ("москв",)),
    ("ru", "Какая столица Франции?", ("париж", "paris")),
    ("ru", "Сколько дней в неделе?", ("7", "семь")),
    ("ru", "Какого цвета небо в ясный день?", ("голуб", "син")),
    ("ru", "Сколько будет 2 плюс 2?", ("4", "четыре")),
    ("ru", "Какая химическая формула воды?", ("h2o", "h₂o")),
]


# Not used while tuning prompts or sampling (`--held-out`): whether a change generalises.
HELD_OUT: list[tuple[str, str, tuple[str, ...]]] = [
    ("en", "What is the capital of Canada?", ("ottawa",)),
    ("en", "How many legs does a dog have?", ("4", "four")),
    ("en", "What color is snow?", ("white",)),
    ("ja", "カナダの首都はどこですか？", ("オタワ", "ottawa")),
    ("ja", "犬の足は何本ですか？", ("4", "四")),
    ("ja", "雪は何色ですか？", ("白", "white")),
    ("pt", "Qual é a capital do Japão?", ("tóquio", "toquio", "tokyo")),
    ("pt", "Quantas pernas tem um cachorro?", ("4", "quatro")),
    ("pt", "De que cor é a neve?", ("branc",)),
    ("ru", "Какая столица Японии?", ("токио",)),
    ("ru", "Сколько ног у собаки?", ("4", "четыре")),
    ("ru", "Какого цвета снег?", ("бел",)),
]


# Words that tell English from Portuguese in a short answer (both are Latin script).
_ENGLISH = frozenset("the is are of in there has have and it a an on".split())
_PORTUGUESE = frozenset("o a os as é são de do da dos das em no na num numa tem têm um uma e".split())


def in_language(answer: str, lang: str) -> bool:
    """Written in the question's language. Russian: Cyrillic; Japanese: kana, or a kanji word; English and
    Portuguese: Latin letters with neither (nor Han), told apart by their common short words (a bare
    `Paris.` is either). An answer without letters (`2 + 2 = 4.`) is in every language."""
    answer = re.sub(r"^\s*Observer:\s*", "", answer)  # the console's speaker label is not the answer
    if not any(ch.isalpha() for ch in answer):
        return True
    cyrillic = re.search(r"[\u0400-\u04ff]", answer) is not None
    kana = re.search(r"[\u3040-\u30ff]", answer) is not None
    han = re.search(r"[\u4e00-\u9fff]", answer) is not None
    if lang == "ru":
        return cyrillic
    if lang == "ja":
        # A Japanese sentence has kana; kanji alone is Japanese only as a word or two (`東京。`), while
        # `1週間有7天。` is Chinese.
        return kana or (han and sum(ch.isalpha() for ch in answer) <= 3)
    if cyrillic or kana or han or re.search(r"[A-Za-z]", answer) is None:
        return False
    words = re.findall(r"[^\W\d_]+", answer.lower())
    english = sum(w in _ENGLISH for w in words)
    portuguese = sum(w in _PORTUGUESE for w in words) + len(re.findall(r"[ãõçáéíóúâêô]", answer.lower()))
    return english >= portuguese if lang == "en" else portuguese >= english


def right(answer: str, expected: tuple[str, ...], lang: str) -> bool:
    """An expected word, in the question's language: `В неделю 7 дней.` does not answer an English
    question for its reader."""
    low = answer.lower()
    return any(word in low for word in expected) and in_language(answer, lang)


Questions = list[tuple[str, str, tuple[str, ...]]]


def chinese_in_japanese(answers: list[str], questions: Questions) -> str:
    """How many Japanese answers hold a Chinese-only character (东京 for 東京): right by the expected
    words, wrong to a Japanese reader."""
    japanese = [a for a, q in zip(answers, questions, strict=True) if q[0] == "ja"]
    return f"{sum(foreign_han(a) for a in japanese)}/{len(japanese)}"


def through_observer(
    model: str, checkout: Path, data_dir: Path, questions: Questions, one_channel: bool = False
) -> tuple[list[str], list[float]]:
    """Each question in a channel of its own (as separate members would ask it, no earlier answer in
    its context), or with `one_channel` all in #general one after another (each sees the earlier ones)."""
    config = data_dir.parent / f"{model}.toml"
    config.write_text(
        f'[[models]]\nname = "local"\nprovider = "local"\nmodel = "{model}"\ncontext_window = 2048\n'
        "max_output_tokens = 200\n"
    )
    env = user_env()
    env.update(PYTHONPATH=str(checkout), OBSERVER_DATA_DIR=str(data_dir), OBSERVER_CONFIG=str(config))
    answers, seconds = [], []
    for i, (_, question, _) in enumerate(questions):
        started = time.perf_counter()
        channel = ["--channel", "general" if one_channel else f"question-{i}"]
        done = subprocess.run(
            [sys.executable, "-m", "command_line", "chat", "--once", f"@Observer {question}", *channel],
            cwd=data_dir.parent,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        seconds.append(time.perf_counter() - started)
        answers.append(done.stdout.strip() or f"(exit {done.returncode}) {done.stderr.strip()[-200:]}")
    return answers, seconds


def bare(model: str, checkout: Path, data_dir: Path, questions: Questions) -> tuple[list[str], float, float]:
    """The same model in one chat call each; returns answers, tokens/s and time to first token (ms)."""
    sys.path.insert(0, str(checkout))
    from llama_cpp import Llama

    from agent.models.bundled import assemble, bundled

    entry = bundled(model)
    assert entry is not None
    llama = Llama(model_path=str(assemble(entry, data_dir / "models")), n_ctx=2048, verbose=False)
    answers, rates, firsts = [], [], []
    for _, question, _ in questions:
        started = time.perf_counter()
        first = None
        parts = []
        for chunk in llama.create_chat_completion(
            [
                {"role": "system", "content": "Answer briefly, in the language of the question."},
                {"role": "user", "content": question},
            ],
            max_tokens=120,
            temperature=entry.temperature,
            repeat_penalty=entry.repeat_penalty,
            stream=True,
        ):
            text = chunk["choices"][0]["delta"].get("content") or ""
            if text and first is None:
                first = time.perf_counter()
            parts.append(text)
        end = time.perf_counter()
        answers.append("".join(parts).strip())
        tokens = len(llama.tokenize(answers[-1].encode(), add_bos=False)) or 1
        if first is not None:
            firsts.append((first - started) * 1000)
            if end > first and tokens > 1:
                rates.append((tokens - 1) / (end - first))
    llama.close()
    return answers, statistics.median(rates) if rates else 0.0, statistics.median(firsts) if firsts else 0.0


def score(answers: list[str], questions: Questions) -> tuple[int, dict[str, str]]:
    total, per_language = 0, {}
    for lang in ("en", "ja", "pt", "ru"):
        hits = [right(a, q[2], lang) for a, q in zip(answers, questions, strict=True) if q[0] == lang]
        per_language[lang] = f"{sum(hits)}/{len(hits)}"
        total += sum(hits)
    return total, per_language


def main() -> None:
    parser = argparse.ArgumentParser()
    from agent.models.bundled import CATALOGUE

    installed = [key for key, entry in CATALOGUE.items() if entry.installed()]
    parser.add_argument("--models", nargs="+", default=installed, help="default: every bundled model installed")
    parser.add_argument("--checkout", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--no-bare", action="store_true")
    parser.add_argument("--show", action="store_true", help="print every answer")
    parser.add_argument("--held-out", action="store_true", help="the 12 questions never used while tuning")
    parser.add_argument(
        "--one-channel", action="store_true", help="all questions in one channel (each sees the earlier answers)"
    )
    args = parser.parse_args()
    questions = HELD_OUT if args.held_out else QUESTIONS
    n = len(questions)
    for model in args.models:
        with tempfile.TemporaryDirectory() as tmp:
            data_dir = Path(tmp) / "data"
            answers, seconds = through_observer(model, args.checkout, data_dir, questions, args.one_channel)
            total, per = score(answers, questions)
            print(f"{model} through Observer: {total}/{n} = {100 * total / n:.0f} % {per}")
            print(f"  Japanese answers with a Chinese-only character: {chinese_in_japanese(answers, questions)}")
            print(
                f"  console --once wall time: cold {seconds[0]:.1f} s, warm p50 {statistics.median(seconds[1:]):.1f} s"
            )
            if args.show:
                for (lang, q, _), a in zip(questions, answers, strict=True):
                    print(f"  [{lang}] {q} -> {a!r}")
            if not args.no_bare:
                answers, rate, first = bare(model, args.checkout, data_dir, questions)
                total, per = score(answers, questions)
                print(f"{model} bare: {total}/{n} = {100 * total / n:.0f} % {per}")
                print(f"  Japanese answers with a Chinese-only character: {chinese_in_japanese(answers, questions)}")
                print(f"  {rate:.1f} tokens/s, first token p50 {first:.0f} ms (2048-token context, this machine)")
                if args.show:
                    for (lang, q, _), a in zip(questions, answers, strict=True):
                        print(f"  [{lang}] {q} -> {a!r}")


if __name__ == "__main__":
    main()
