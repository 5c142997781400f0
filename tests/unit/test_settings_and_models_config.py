from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import load_config
from agent.errors import ConfigError
from agent.models.config import LOCAL_MODEL_NAME
from agent.settings import load_settings


def test_no_config_file_means_the_bundled_local_model_only():
    config = load_config(None)
    assert [m.name for m in config.models] == [LOCAL_MODEL_NAME]
    assert config.default_model == config.judge_model == LOCAL_MODEL_NAME


def test_full_model_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MY_KEY", "sk-test")
    path = tmp_path / "observer.toml"
    path.write_text(
        'judge_model = "cheap"\ndefault_model = "strong"\n'
        '[[models]]\nname = "cheap"\nmodel = "gpt-4o-mini"\nbase_url = "https://example.invalid/v1"\n'
        'api_key_env = "MY_KEY"\ncontext_window = 128000\nmax_output_tokens = 512\n'
        'cost_per_1k_input = 0.00015\ncost_per_1k_output = 0.0006\nabout = "small talk"\n'
        '[[models]]\nname = "strong"\nmodel = "llama3.1:70b"\nbase_url = "http://localhost:11434/v1"\n'
    )
    config = load_config(path)
    assert config.judge_model == "cheap" and config.default_model == "strong"
    cheap = config.spec("cheap")
    assert cheap is not None and cheap.api_key() == "sk-test"
    assert cheap.cost(1000, 1000) == pytest.approx(0.00075)


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        (
            '[[models]]\nname = "a"\nmodel = "m"\ncontex_window = 10\n',
            "models.0.contex_window: unknown field; did you mean 'context_window'?",
        ),
        ('judge_modle = "a"\n', "judge_modle: unknown field; did you mean 'judge_model'?"),
        (
            'default_model = "zz"\n[[models]]\nname = "a"\nmodel = "m"\n',
            "default_model = 'zz' is not one of the models: a",
        ),
        ('[[models]]\nname = "a"\n', "a remote model needs `model`"),
        ('[[models]]\nname = "a"\nmodel = "m"\n[[models]]\nname = "a"\nmodel = "n"\n', "repeated: a"),
        ("[[models]\n", "not valid TOML"),
        (
            '[[models]]\nname = "a"\nmodel = "m"\napi_key_env = "SURELY_UNSET_KEY_X"\n',
            "$SURELY_UNSET_KEY_X, which is not set",
        ),
        (
            '[[models]]\nname = "a"\nprovider = "local"\nmodel = "/nowhere/x.gguf"\n',
            "model file /nowhere/x.gguf does not exist",
        ),
    ],
)
def test_config_mistakes_are_one_clear_line(tmp_path: Path, toml: str, expected: str):
    path = tmp_path / "observer.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert expected in message and "\n" not in message and str(path) in message


def test_settings_errors_name_the_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OBSERVER_HISTORY_LIMIT", "lots")
    with pytest.raises(ConfigError, match="OBSERVER_HISTORY_LIMIT: .*'lots'"):
        load_settings()
    monkeypatch.delenv("OBSERVER_HISTORY_LIMIT")
    monkeypatch.setenv("OBSERVER_LOCAL_MODEL_PATH", str(tmp_path / "missing.gguf"))
    with pytest.raises(ConfigError, match="OBSERVER_LOCAL_MODEL_PATH: .*missing.gguf is not a file"):
        load_settings()
    monkeypatch.delenv("OBSERVER_LOCAL_MODEL_PATH")
    monkeypatch.setenv("OBSERVER_DATA_DRI", "x")
    with pytest.raises(ConfigError, match="did you mean OBSERVER_DATA_DIR"):
        load_settings()


def test_settings_defaults_and_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("OBSERVER_BOT_NAME=Kuro\n")
    settings = load_settings()
    assert settings.bot_name == "Kuro"
    assert settings.resolved_database_url().startswith("sqlite+aiosqlite:///")
    assert settings.resolved_config_path() is None
    (tmp_path / "observer.toml").write_text("")
    assert settings.resolved_config_path() == Path("observer.toml")


@pytest.mark.parametrize(
    ("count", "ids", "held"),
    [
        (None, None, None),
        ("4", None, None),
        ("4", "0,2", [0, 2]),
        ("4", "0-3", [0, 1, 2, 3]),
        ("8", "6, 0-1", [0, 1, 6]),
    ],
)
def test_a_fixed_shard_layout(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, count, ids, held):
    monkeypatch.chdir(tmp_path)
    for name, value in (("OBSERVER_SHARD_COUNT", count), ("OBSERVER_SHARD_IDS", ids)):
        if value is not None:
            monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.shard_count == (None if count is None else int(count))
    assert settings.shard_ids == held


@pytest.mark.parametrize(
    ("count", "ids", "expected"),
    [
        (None, "0,1", "OBSERVER_SHARD_IDS: shard ids need OBSERVER_SHARD_COUNT"),
        ("2", "0,2", "OBSERVER_SHARD_IDS: shard 2 is not below OBSERVER_SHARD_COUNT=2"),
        ("4", "0-2,1", "OBSERVER_SHARD_IDS: shard 1 is listed twice"),
        ("4", "2-1", "OBSERVER_SHARD_IDS: the range 2-1 goes down"),
        ("4", "one", "OBSERVER_SHARD_IDS: 'one' is not a shard id"),
        ("0", None, "OBSERVER_SHARD_COUNT: "),
    ],
)
def test_shard_layout_mistakes_are_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, count, ids, expected
):
    monkeypatch.chdir(tmp_path)
    for name, value in (("OBSERVER_SHARD_COUNT", count), ("OBSERVER_SHARD_IDS", ids)):
        if value is not None:
            monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert str(err.value).startswith(expected) and "\n" not in str(err.value)
