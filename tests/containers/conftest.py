"""Real containers: the project's Dockerfile built with podman, and compose.yaml brought up by podman-compose.

Skipped, with the reason, only where podman cannot run (not installed, or not root)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.containers.podman import Podman, store_dir, unavailable_reason

REPO = Path(__file__).resolve().parents[2]
IMAGE = "localhost/observer-test:latest"
POSTGRES_IMAGE = "localhost/observer-test-postgres:15"
# Seconds each image took to build in this run (bench/containers.py reports them too).
BUILD_SECONDS: dict[str, float] = {}


@pytest.fixture(scope="session")
def podman() -> Iterator[Podman]:
    if reason := unavailable_reason():
        pytest.skip(reason)
    engine = Podman(store_dir())
    engine.ensure_base_image()
    yield engine


@pytest.fixture(scope="session")
def observer_image(podman: Podman) -> str:
    """The image built from this checkout (in CI: a clean clone), as `docker build .` would."""
    BUILD_SECONDS[IMAGE] = podman.build(REPO, IMAGE)
    return IMAGE


@pytest.fixture(scope="session")
def postgres_image(podman: Podman) -> str:
    BUILD_SECONDS[POSTGRES_IMAGE] = podman.build(Path(__file__).parent / "postgres", POSTGRES_IMAGE)
    return POSTGRES_IMAGE


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The image builds' seconds, for the note and the README (a cold store builds from nothing)."""
    for image, seconds in BUILD_SECONDS.items():
        terminalreporter.write_line(f"container image {image} built in {seconds:.0f} s")
