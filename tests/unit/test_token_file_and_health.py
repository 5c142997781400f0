"""A container's token from a secret file, and the health file `observer health` reads."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from agent.errors import ConfigError
from agent.health_file import STALE_AFTER_SECONDS, ShardHealth, health_path, verdict, write_health
from agent.settings import load_settings
from command_line.main import main


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.chdir(tmp_path)
    for name in ("DISCORD_TOKEN", "DISCORD_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)


def test_the_token_is_read_from_a_secret_file_and_never_echoed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    secret = tmp_path / "discord_token"
    secret.write_text("  MTIz.secret-token  \n")
    monkeypatch.setenv("DISCORD_TOKEN_FILE", str(secret))
    settings = load_settings()
    assert settings.discord_token is not None and settings.discord_token.get_secret_value() == "MTIz.secret-token"

    monkeypatch.setenv("DISCORD_TOKEN", "another-secret")
    with pytest.raises(ConfigError) as both:
        load_settings()
    assert "keep one" in str(both.value)
    assert "another-secret" not in str(both.value) and "MTIz" not in str(both.value)


@pytest.mark.parametrize(("content", "expected"), [(None, "cannot read"), ("  \n", "is empty")])
def test_a_missing_or_empty_token_file_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, content: str | None, expected: str
):
    secret = tmp_path / "discord_token"
    if content is not None:
        secret.write_text(content)
    monkeypatch.setenv("DISCORD_TOKEN_FILE", str(secret))
    with pytest.raises(ConfigError) as err:
        load_settings()
    message = str(err.value)
    assert message.startswith("DISCORD_TOKEN_FILE:") and expected in message and str(secret) in message
    assert "\n" not in message


def test_an_empty_token_file_variable_means_unset(monkeypatch: pytest.MonkeyPatch):
    """compose passes `DISCORD_TOKEN_FILE: ${DISCORD_TOKEN_FILE:-}`: empty when the operator set none."""
    monkeypatch.setenv("DISCORD_TOKEN_FILE", "")
    monkeypatch.setenv("DISCORD_TOKEN", "tok")
    assert load_settings().discord_token is not None


def test_health_verdicts(tmp_path: Path):
    path = health_path(tmp_path, None)
    assert verdict(path) == (False, f"not running: no health file at {path} (`observer run` writes it once it starts)")
    write_health(path, connected=True, stopping=False, shards={0: ShardHealth(True, 41.0), 1: ShardHealth(True, None)})
    healthy, line = verdict(path)
    assert healthy and "shards [0, 1]" in line and "41 ms" in line
    assert verdict(path, now=time.time() + STALE_AFTER_SECONDS + 1)[0] is False, "a stuck process is unhealthy"
    write_health(path, connected=True, stopping=False, shards={0: ShardHealth(True, 40.0), 1: ShardHealth(False, None)})
    assert verdict(path) == (False, "not connected: shards [1] are not connected to Discord's gateway (yet)")
    write_health(path, connected=False, stopping=False, shards={})
    assert verdict(path)[0] is False
    write_health(path, connected=True, stopping=True, shards={0: ShardHealth(True, 40.0)})
    assert verdict(path) == (False, "stopping: draining replies before exit")
    path.write_text("{not json")
    assert verdict(path)[0] is False


def test_observer_health_exit_codes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture):
    monkeypatch.setenv("OBSERVER_DATA_DIR", str(tmp_path / "data"))
    assert main(["health"]) == 1
    assert "not running" in capsys.readouterr().out
    write_health(
        health_path(tmp_path / "data", None), connected=True, stopping=False, shards={0: ShardHealth(True, 5.0)}
    )
    assert main(["health"]) == 0
    assert capsys.readouterr().out.startswith("connected: shards [0]")


def test_an_unreadable_file_outside_the_data_dir_is_named_not_blamed_on_the_data_dir(tmp_path: Path):
    """A mounted observer.toml the container's user may not read once read 'OBSERVER_DATA_DIR: /data is
    not writable'. (Built by hand: these tests run as root, who may read anything.)"""
    import errno
    import os

    from agent import startup_faults
    from agent.settings import Settings

    settings = Settings(data_dir=tmp_path / "data")
    config = PermissionError(errno.EACCES, "Permission denied", "/config/observer.toml")
    line = startup_faults.explain(config, settings)
    assert (
        line
        == f"/config/observer.toml: Permission denied; make it readable by the user Observer runs as (uid {os.getuid()})"
    )
    inside = PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "data" / "observer.db"))
    assert (startup_faults.explain(inside, settings) or "").startswith("OBSERVER_DATA_DIR:")
