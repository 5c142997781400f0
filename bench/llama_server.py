"""Observer on llama.cpp's real OpenAI-compatible server (issue G1), with the model list's defaults.

- Judge: 50 varied messages (English and Japanese) through the judge's structured-output call; how
  many parsed, and with which method (auto picks it per server and remembers it).
- Reply length: replies streamed with max_output_tokens = 64; the most tokens any reply had (streamed
  pieces, and the server's own count when it reports one), and the time from request to the end.

    .venv/bin/python -m bench.llama_server
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections import Counter
from pathlib import Path

from agent.loop import run_async
from agent.memory.embeddings import LocalE5Embedder
from agent.state import Context
from agent.stream import outcome_of
from bench.harness import judge_once, summary
from tests.conftest import make_event, make_services, run_graph
from tests.servers import llama_server

MESSAGES = [
    "anyone up for the raid tonight?",
    "@Observer what's the capital of France?",
    "lol that was hilarious",
    "can someone explain how the quest rewards work",
    "I think the bot is broken again",
    "Observer, do you know a good tea for winter?",
    "brb dinner",
    "what time is the event on saturday",
    "does anyone have the link to the rules?",
    "gm everyone",
    "how do I reset my password on the site?",
    "the new patch notes are out, check them",
    "is it true that cats can't taste sweetness?",
    "ok I'm heading to bed, night all",
    "Observer help me write a haiku about rain",
    "why is my ping so high today",
    "who won the tournament last week?",
    "this channel is so quiet",
    "recommend me a book please",
    "what does 'ephemeral' mean?",
    "we need one more healer for the dungeon",
    "happy birthday Ken!!",
    "can the bot summarize the last hour?",
    "I disagree, the old map was better",
    "any Portuguese speakers here? alguém fala português?",
    "今日のレイドは何時から？",
    "おはようございます！",
    "誰か攻略を手伝ってくれませんか",
    "Observer、おすすめのお茶はありますか？",
    "このチャンネルのルールを教えて",
    "今夜は眠れない",
    "新しいアップデートはいつ来るの？",
    "猫の名前を考えてほしい",
    "ボスの弱点って何だっけ",
    "ありがとう、助かりました",
    "イベントの報酬は何がもらえる？",
    "明日は雨らしいよ",
    "このバグ、直りましたか？",
    "日本語で話せる人いますか",
    "Observerは何ができるの？",
    "週末の予定は？",
    "ギルドの集合場所はどこ？",
    "眠い…",
    "ラーメン食べたい",
    "配信は何時から始まりますか",
    "このゲームの初心者向けガイドある？",
    "乾杯！",
    "質問があります、いいですか？",
    "テストメッセージです",
    "おやすみなさい",
]


def toml_for(url: str) -> str:
    entries = []
    for name in ("gemma", "gemma-b"):
        entries.append(
            f'[[models]]\nname = "{name}"\nmodel = "gemma"\nbase_url = "{url}"\ncontext_window = 2048\n'
            f'max_output_tokens = 64\nabout = "small local model ({name})"\n'
        )
    return "\n".join(entries)


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="observer-bench-") as tmp:
        tmp_path = Path(tmp)
        from agent.models.local import bundled_model_path

        with llama_server(tmp_path, bundled_model_path(tmp_path)) as url:
            svc = await make_services(
                tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'bench.db'}", LocalE5Embedder(), toml_for(url)
            )
            try:
                await judge_bench(svc)
                await length_bench(svc)
            finally:
                await svc.close()


async def judge_bench(svc) -> None:
    parsed = 0
    methods: Counter[str] = Counter()
    failures: list[str] = []
    latencies: list[float] = []
    for text in MESSAGES:
        result = await judge_once(svc, text, ["gemma", "gemma-b"])
        latencies.append(result.model_ms)
        if result.output is not None:
            parsed += 1
            methods[result.method or "?"] += 1
        else:
            failures.append(f"{text!r}: {result.error}")
    print(
        f"judge on llama.cpp's server: {parsed}/{len(MESSAGES)} parsed ({parsed / len(MESSAGES):.0%}); methods {dict(methods)}"
    )
    for failure in failures:
        print("  failed:", failure)
    print(summary("judge call", latencies))


async def length_bench(svc, rounds: int = 12) -> None:
    most_pieces = most_reported = empty = 0
    durations: list[float] = []
    for i in range(rounds):
        event = make_event(f"@Observer tell me a very long story about dragons, part {i}", mentions_bot=True)
        started = time.perf_counter()
        tokens, state = await run_graph(svc, event, Context(model="gemma"))
        outcome = outcome_of(state)
        durations.append((time.perf_counter() - started) * 1000)
        usage = [u for u in await svc.record.usage_rows(event.message_id) if u["purpose"] == "reply"]
        most_pieces = max(most_pieces, len(tokens))
        most_reported = max(most_reported, max((u["tokens_out"] for u in usage), default=0))
        empty += not outcome.reply
    print(
        f"replies with max_output_tokens = 64 on llama.cpp's server: most streamed tokens {most_pieces}, "
        f"most recorded tokens_out {most_reported} (over {rounds} replies; {empty} empty: the base model's EOS)"
    )
    print(summary("request to end of reply", durations))


if __name__ == "__main__":
    asyncio.set_event_loop_policy(None)
    run_async(main())
