"""The image as an operator meets it: `docker run` answers from the bundled model, offline, as a user who
is not root and writes nowhere but its volume; without a token it says what it needs."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.containers.podman import Podman

pytestmark = pytest.mark.containers


def run(podman: Podman, image: str, *command: str, volume: str | None = None, **kw: str) -> tuple[int, str, str]:
    args = ["run", "--rm", "--network=none", "--read-only", "--read-only-tmpfs=false"]
    if volume:
        args += ["-v", f"{volume}:/data"]
    for key, value in kw.items():
        args += ["-e", f"{key}={value}"]
    done = podman.run(*args, image, *command, check=False)
    return done.returncode, done.stdout, done.stderr


@pytest.fixture
def volume(podman: Podman):
    name = f"observer-test-{uuid.uuid4().hex[:8]}"
    podman.run("volume", "create", name)
    yield name
    podman.run("volume", "rm", "-f", name, check=False)


def test_the_image_answers_from_the_bundled_model_offline_read_only_and_not_as_root(
    podman: Podman, observer_image: str, volume: str
):
    # No network at all, a read-only root file system and no writable /tmp: only the volume takes writes.
    code, out, err = run(podman, observer_image, "observer", "chat", "--once", "@Observer 日本の首都はどこですか？",
                         volume=volume)  # fmt: skip
    assert code == 0, err[-3000:]
    assert re.search(r"Tokyo|東京|东京", out), out  # the model writes the Chinese form at times
    code, out, _ = run(podman, observer_image, "id", "-u")
    assert code == 0 and out.strip() not in ("", "0"), f"runs as uid {out.strip()!r}"
    # What the answer left behind is in the volume: the record and the assembled model.
    code, out, err = run(podman, observer_image, "ls", "/data", "/data/models", volume=volume)
    assert code == 0, err
    assert "observer.db" in out and ".gguf" in out, out


def test_without_a_token_the_container_says_what_it_needs_and_exits_non_zero(podman: Podman, observer_image: str):
    code, out, err = run(podman, observer_image)
    assert code != 0
    assert "DISCORD_TOKEN" in err and "DISCORD_TOKEN_FILE" in err, err
    assert "Traceback" not in err, err


def test_a_token_file_that_cannot_be_read_is_one_line_naming_it(podman: Podman, observer_image: str):
    code, _, err = run(podman, observer_image, DISCORD_TOKEN_FILE="/run/secrets/discord_token")
    assert code != 0
    assert "DISCORD_TOKEN_FILE" in err and "/run/secrets/discord_token" in err, err
    assert "Traceback" not in err, err


def test_the_health_check_is_unhealthy_until_the_bot_runs(podman: Podman, observer_image: str):
    code, out, _ = run(podman, observer_image, "observer", "health")
    assert code == 1
    assert "not running" in out, out
