"""The on-disk prompt cache of the bundled model: a new process starts from what the last one read,
answers exactly as it would have without it, and a damaged or foreign file is ignored, not fatal."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.models.llama_loading import bundled_model_path
from agent.models.prompt_cache import MAGIC, cache_file, restore, save

pytestmark = pytest.mark.local_model

QUESTION = "<|im_start|>system\nAnswer briefly.<|im_end|>\n<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
FOLLOW_UP = "<|im_end|>\n<|im_start|>user\nAnd of Japan?<|im_end|>\n<|im_start|>assistant\n"


def _load(path: Path, n_ctx: int = 512):
    from llama_cpp import Llama

    return Llama(model_path=str(path), n_ctx=n_ctx, n_threads=2, verbose=False)


def _answer(llama, prompt: str) -> str:
    tokens = llama.tokenize(prompt.encode(), add_bos=False, special=True)
    out = llama.create_completion(tokens, max_tokens=12, temperature=0.0, stop=["<|im_end|>"])
    return out["choices"][0]["text"]


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bundled_model_path(tmp_path_factory.mktemp("models"))


def test_a_new_process_resumes_from_the_cache_and_answers_the_same(model_file: Path, tmp_path: Path):
    path = cache_file(tmp_path, str(model_file), 512)
    assert path is not None
    first = _load(model_file)
    paris = _answer(first, QUESTION)
    assert "Paris" in paris
    save(first, path)
    read = first.n_tokens
    first.close()

    second = _load(model_file)
    assert restore(second, path) == read  # the prompt and the answer, not read again
    follow_up = QUESTION + paris + FOLLOW_UP
    resumed = _answer(second, follow_up)
    second.reset()  # the same question read from scratch
    assert _answer(second, follow_up) == resumed
    assert "Tokyo" in resumed or "東京" in resumed
    second.close()


def test_a_damaged_or_foreign_cache_is_ignored_and_removed(model_file: Path, tmp_path: Path):
    path = cache_file(tmp_path, str(model_file), 512)
    assert path is not None
    llama = _load(model_file)
    _answer(llama, QUESTION)
    save(llama, path)
    whole = path.read_bytes()
    fresh = _load(model_file)
    for damaged in (b"not a cache", MAGIC + whole[len(MAGIC) : len(MAGIC) + 4], whole[: len(whole) // 2]):
        path.write_bytes(damaged)
        assert restore(fresh, path) == 0
        assert not path.exists() and fresh.n_tokens == 0
    assert "Paris" in _answer(fresh, QUESTION)  # the model works as if there had been no file
    fresh.close()
    # Another window has its own file: a 512-token state never reaches a 256-token context.
    assert cache_file(tmp_path, str(model_file), 256) != path
    llama.close()
