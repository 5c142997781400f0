"""Training data from the record (issue T): corrections, rated feedback and uploaded examples become
the JSONL a fine-tuning job sends, without members' names unless the operator keeps them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.memory.guidance import learn
from agent.services import Services
from agent.training.dataset import ExampleError, add_examples, build_dataset, pair, parse_examples
from tests.conftest import make_event, models_toml, run_graph
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.integration.test_cli import observer


async def ask(
    services: Services, fake: FakeOpenAI, question: str, answer: str, author: str = "hana", channel: str = "general"
) -> int:
    fake.push(Reply(answer))
    event = make_event(f"@Observer {question}", author=author, mentions_bot=True, channel=channel)
    _, state = await run_graph(services, event)
    return int(state["reply_message_id"])


async def correct(services: Services, reply_id: int, text: str, kind: str = "correction", rating: str | None = None):
    event = make_event("")
    await learn(
        services.record,
        services.memory,
        kind=kind,
        user_id=event.author_id,
        text=text,
        message_id=reply_id,
        guild_id=event.guild_id,
        channel_id=event.channel_id,
        rating=rating,
    )


async def test_a_correction_is_a_supervised_example_and_a_preference_pair_without_names(
    services: Services, fake_openai: FakeOpenAI
):
    reply_id = await ask(services, fake_openai, "when does the Tea House open, says hana?", "At noon.")
    await correct(services, reply_id, "Hana, it opens at 7:30 on weekdays.")

    sft = await build_dataset(services.record, bot_name="Observer", method="sft", test_percent=0)
    assert sft.sources == {"correction": 1} and sft.test == []
    [row] = sft.train
    assert [m["role"] for m in row["messages"]] == ["system", "user", "assistant"]
    assert row["messages"][1]["content"] == "Member 1: @Observer when does the Tea House open, says Member 1?"
    assert row["messages"][2]["content"] == "Member 1, it opens at 7:30 on weekdays."
    assert "hana" not in json.dumps(sft.train).lower()

    dpo = await build_dataset(services.record, bot_name="Observer", method="dpo", test_percent=0)
    [pair_row] = dpo.train
    assert pair_row["preferred_output"] == [{"role": "assistant", "content": "Member 1, it opens at 7:30 on weekdays."}]
    assert pair_row["non_preferred_output"] == [{"role": "assistant", "content": "At noon."}]
    assert pair_row["input"]["messages"][-1]["role"] == "user"

    kept = await build_dataset(services.record, bot_name="Observer", keep_names=True, test_percent=0)
    assert kept.train[0]["messages"][1]["content"].startswith("hana: ")


async def test_rated_feedback_and_uploads_pair_up_and_repeats_count_once(services: Services, fake_openai: FakeOpenAI):
    good = await ask(services, fake_openai, "what is the cat called?", "Her cat is Biscuit.")
    await correct(services, good, "spot on", kind="feedback", rating="good")
    bad = await ask(services, fake_openai, "what is the dog called?", "There is no dog.", author="kai", channel="dogs")
    await correct(services, bad, "wrong", kind="feedback", rating="bad")
    unrated = await ask(services, fake_openai, "what is the bird called?", "Tweety.")
    await correct(services, unrated, "hm", kind="feedback")

    # The same prompt as the bad answer, with the right answer, uploaded twice: one example.
    prompt = "Member 1: @Observer what is the dog called?"
    upload = [("positive", pair(prompt, "The dog is called Rex."))]
    await add_examples(services.record, upload, guild_id=None, user_id=None, source="a.jsonl")
    await add_examples(services.record, upload, guild_id=None, user_id=None, source="b.jsonl")

    sft = await build_dataset(services.record, bot_name="Observer", method="sft", test_percent=0)
    answers = sorted(r["messages"][-1]["content"] for r in sft.train)
    assert answers == ["Her cat is Biscuit.", "The dog is called Rex."], (
        "the bad and the unrated answers are not taught"
    )
    assert sft.duplicates == 1 and sft.sources == {"feedback": 2, "upload": 2}

    dpo = await build_dataset(services.record, bot_name="Observer", method="dpo", test_percent=0)
    [row] = dpo.train
    assert row["preferred_output"][0]["content"] == "The dog is called Rex."
    assert row["non_preferred_output"][0]["content"] == "There is no dog."
    assert dpo.unpaired == 1, "the good cat answer has nothing to be preferred over"


async def test_the_split_is_the_same_every_time_and_a_prompt_is_never_in_both(services: Services):
    examples = [("positive", pair(f"question {i}?", f"answer {i}")) for i in range(40)]
    examples += [("positive", pair("question 3?", "another answer 3"))]
    await add_examples(services.record, examples, guild_id=None, user_id=None, source="many.jsonl")
    first = await build_dataset(services.record, bot_name="Observer")
    again = await build_dataset(services.record, bot_name="Observer")
    assert first.train == again.train and first.test == again.test
    assert first.test and len(first.train) + len(first.test) == 41
    prompts = {json.dumps(r["messages"][:-1]) for r in first.train}
    assert not prompts & {json.dumps(r["messages"][:-1]) for r in first.test}


def test_uploads_are_read_in_every_format_and_a_bad_line_is_named():
    text = "\n".join(
        [
            json.dumps({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}),
            "",
            json.dumps({"prompt": "2+2?", "completion": "4"}),
            json.dumps(
                {
                    "input": {"messages": [{"role": "user", "content": "sky?"}]},
                    "preferred_output": [{"role": "assistant", "content": "blue"}],
                    "non_preferred_output": [{"role": "assistant", "content": "green"}],
                }
            ),
        ]
    )
    parsed = parse_examples(text, "positive")
    assert [label for label, _ in parsed] == ["positive", "positive", "positive", "negative"]
    assert parsed[3][1][-1] == {"role": "assistant", "content": "green"}
    with pytest.raises(ExampleError, match=r"^line 2: not JSON"):
        parse_examples('{"prompt": "a", "answer": "b"}\n{"prompt": "a", answer}', "positive")
    with pytest.raises(ExampleError, match="line 1: the last message must be the assistant's answer"):
        parse_examples(json.dumps({"messages": [{"role": "user", "content": "hi"}]}), "positive")
    with pytest.raises(ExampleError, match="line 1, message 1: role must be system, user or assistant"):
        parse_examples(json.dumps({"messages": [{"role": "bot", "content": "hi"}]}), "negative")


async def test_observer_dataset_build_prints_what_would_be_sent(tmp_path: Path, fake_openai: FakeOpenAI):
    (tmp_path / "observer.toml").write_text(models_toml(fake_openai.base_url))
    lines = [json.dumps({"prompt": f"Q{i}?", "answer": f"A{i}."}) for i in range(12)]
    (tmp_path / "examples.jsonl").write_text("\n".join(lines), encoding="utf-8")
    code, out, err = await observer(tmp_path, "dataset", "example", "add", "examples.jsonl")
    assert code == 0 and "added 12 examples from examples.jsonl" in out, err
    (tmp_path / "broken.jsonl").write_text('{"prompt": "x"}\n', encoding="utf-8")
    code, out, err = await observer(tmp_path, "dataset", "example", "add", "broken.jsonl")
    assert code == 2 and "broken.jsonl: line 1: expected 'messages', or a 'prompt' and an 'answer'" in err

    code, out, err = await observer(tmp_path, "dataset", "build", "--sample", "1", "--out", "built")
    assert code == 0, err
    first, sample = out.splitlines()[:2]
    assert first.startswith("sft: ") and "train + " in first and "12 from uploads" in first
    assert json.loads(sample)["messages"][-1]["role"] == "assistant"
    train = (tmp_path / "built" / "train.jsonl").read_text().splitlines()
    test = (tmp_path / "built" / "test.jsonl").read_text().splitlines()
    assert len(train) + len(test) == 12 and test
