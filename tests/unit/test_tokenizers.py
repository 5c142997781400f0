from agent.models.config import ModelSpec
from agent.models.tokenizers import counter_for
from agent.models.tokens import approx_tokens


def test_non_openai_models_use_the_documented_approximation():
    spec = ModelSpec(name="llama", model="llama3.1:8b", base_url="http://localhost:11434/v1")
    assert counter_for(spec) is approx_tokens
    assert counter_for(ModelSpec(name="x", model="gpt-4o", tokenizer="approx")) is approx_tokens


def test_openai_models_use_tiktoken_or_fall_back_when_offline():
    count = counter_for(ModelSpec(name="mini", model="gpt-4o-mini"))
    # With tiktoken's encoding files at hand this is exact; offline it falls back to the approximation.
    assert count("hello world") in (2, approx_tokens("hello world"))
    assert count("猫" * 10) >= 5
