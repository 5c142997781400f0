"""The local trainer's input, without torch: params.json checked, train.jsonl read in both OpenAI formats,
and chats cut into tokens with exactly the assistant answers (and their end-of-turn) marked to learn."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.training.local_lora.errors import TrainingFailed
from agent.training.local_lora.examples import ChatExample, PreferenceExample, read_examples
from agent.training.local_lora.params import load_params
from agent.training.local_lora.tokens import chat_sequence, pair_sequences, tokenize


class CharTokenizer:
    """One id per character, rendering chats the way Qwen's template does (<|im_start|>…<|im_end|>)."""

    def apply_chat_template(self, messages, tokenize=False, add_generation_prompt=False):
        text = "".join(f"<{m['role']}>{m['content']}|\n" for m in messages)
        return text + ("<assistant>" if add_generation_prompt else "")

    def __call__(self, text, add_special_tokens=False):
        return {"input_ids": [ord(c) for c in text]}


def learnt_text(sequence) -> str:
    return "".join(chr(i) for i, learn in zip(sequence.ids, sequence.learn, strict=True) if learn)


def write(tmp_path: Path, params: dict, lines: list) -> Path:
    (tmp_path / "params.json").write_text(json.dumps(params))
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    return tmp_path


def test_params_have_measured_defaults_and_ignore_unknown_keys(tmp_path):
    write(tmp_path, {"base": "qwen2.5-coder-0.5b-instruct", "method": "dpo", "epochs": 2, "threads": 1, "x": 1}, [])
    params = load_params(tmp_path)
    assert (params.rank, params.alpha, params.batch_size, params.max_tokens) == (8, 16, 4, 256)
    assert params.lr == 5e-4 and params.epochs == 2


@pytest.mark.parametrize(
    ("raw", "said"),
    [
        ({"method": "sft", "epochs": 1, "threads": 1}, "'base' is missing"),
        ({"base": "m", "method": "sft", "epochs": 1.5, "threads": 1}, "'epochs' must be a whole number"),
        ({"base": "m", "method": "sft", "epochs": True, "threads": 1}, "'epochs' must be a whole number"),
        ({"base": "m", "method": "sft", "epochs": 1, "threads": 0}, "'threads' must be"),
        ({"base": "m", "method": "sft", "epochs": 1, "threads": 1, "learning_rate": 2}, "'learning_rate'"),
    ],
)
def test_bad_params_name_the_key(tmp_path, raw, said):
    write(tmp_path, raw, [])
    with pytest.raises(TrainingFailed, match=said):
        load_params(tmp_path)


def test_both_formats_are_read(tmp_path):
    chat = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a", "weight": 1}]}
    pair = {
        "input": {"messages": [{"role": "user", "content": "q"}]},
        "preferred_output": [{"role": "assistant", "content": "good"}],
        "non_preferred_output": [{"role": "assistant", "content": "bad"}],
    }
    write(tmp_path, {}, [chat])
    assert read_examples(tmp_path / "train.jsonl", "sft") == [
        ChatExample(({"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}), (False, True))
    ]
    write(tmp_path, {}, [pair])
    assert read_examples(tmp_path / "train.jsonl", "dpo") == [
        PreferenceExample(({"role": "user", "content": "q"},), "good", "bad")
    ]


@pytest.mark.parametrize(
    ("line", "method", "said"),
    [
        ("{", "sft", "line 2: not JSON"),
        (json.dumps({"messages": [{"role": "user", "content": "q"}]}), "sft", "line 2: no assistant message"),
        (json.dumps({"messages": [{"role": "bot", "content": "q"}]}), "sft", "line 2: message 1 needs a role"),
        (
            json.dumps({"messages": [{"role": "user", "content": "q"}]}),
            "dpo",
            "line 2: a preference line needs 'input'",
        ),
    ],
)
def test_a_bad_line_is_named(tmp_path, line, method, said):
    good = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    (tmp_path / "train.jsonl").write_text(json.dumps(good) + "\n" + line + "\n")
    if method == "dpo":
        (tmp_path / "train.jsonl").write_text("\n" + line + "\n")
    with pytest.raises(TrainingFailed, match=said):
        read_examples(tmp_path / "train.jsonl", method)


def test_only_learnt_answers_and_their_end_are_marked():
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "q1"},
        {"role": "assistant", "content": "a1"},
        {"role": "user", "content": "q2"},
        {"role": "assistant", "content": "a2"},
    ]
    tokenizer = CharTokenizer()
    sequence = chat_sequence(tokenizer, messages, [False, False, False, False, True])
    assert "".join(map(chr, sequence.ids)) == tokenizer.apply_chat_template(messages)
    assert learnt_text(sequence) == "a2|"
    both = chat_sequence(tokenizer, messages, [False, False, True, False, True])
    assert learnt_text(both) == "a1|a2|"


def test_a_pair_marks_each_answer_and_a_cut_keeps_the_end():
    tokenizer = CharTokenizer()
    pair = pair_sequences(tokenizer, PreferenceExample(({"role": "user", "content": "q"},), "yes", "no"))
    assert (learnt_text(pair.chosen), learnt_text(pair.rejected)) == ("yes|", "no|")
    long = ChatExample(({"role": "user", "content": "x" * 100}, {"role": "assistant", "content": "ok"}), (False, True))
    [cut] = tokenize(tokenizer, [long], max_tokens=20)
    assert len(cut.ids) == 20 and learnt_text(cut) == "ok|"
    with pytest.raises(TrainingFailed, match="max_tokens=1"):
        tokenize(tokenizer, [long], max_tokens=1)
