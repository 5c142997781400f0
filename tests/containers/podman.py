"""Podman for the container tests: its own storage, runc, and a Debian base image made here.

Registries are unreachable from this project's machines, so `debian:bookworm-slim` (the Dockerfile's
FROM) is made locally by mmdebstrap from Debian's packages and tagged with the official name; the
Dockerfile builds unchanged. The base image carries the host's extra CA certificates (builds reach
PyPI through a proxy with its own CA); the project's Dockerfile knows nothing of them.

Storage lives in OBSERVER_TEST_CONTAINERS_DIR (default ~/.cache/observer-test-containers): images and
build layers survive between runs on one machine, as a developer's Docker cache does. Delete the folder
to measure a cold build.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

BASE_IMAGE = "docker.io/library/debian:bookworm-slim"
TOOLS = ("podman", "mmdebstrap", "runc")
INSTALL_HINT = "apt install podman buildah mmdebstrap runc slirp4netns containernetworking-plugins uidmap"


def unavailable_reason() -> str | None:
    """Why the container tests cannot run on this machine, or None when they can."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        return f"{', '.join(missing)} not installed ({INSTALL_HINT}; .ci/install does it as root)"
    if not compose_command().exists():
        return "podman-compose not installed (it is in the dev extra: pip install -e '.[dev]')"
    if os.geteuid() != 0:
        return "the container tests run rootful podman (rootless needs subuid ranges set up): run them as root"
    return None


def compose_command() -> Path:
    """podman-compose from this venv (the dev extra pins a version that honours exit codes)."""
    beside = Path(sys.executable).parent / "podman-compose"
    return beside if beside.exists() else Path(shutil.which("podman-compose") or "podman-compose")


def store_dir() -> Path:
    configured = os.environ.get("OBSERVER_TEST_CONTAINERS_DIR")
    return Path(configured) if configured else Path.home() / ".cache" / "observer-test-containers"


class Podman:
    """`podman …` with this store's configuration: runc (crun cannot set rlimits here) and fixed ulimits."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        (root / "containers.conf").write_text(
            '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n[engine]\nruntime = "runc"\n'
        )
        (root / "storage.conf").write_text(
            f'[storage]\ndriver = "overlay"\ngraphroot = "{root / "storage"}"\nrunroot = "{root / "run"}"\n'
        )
        self.env = {
            **os.environ,
            "CONTAINERS_CONF": str(root / "containers.conf"),
            "CONTAINERS_STORAGE_CONF": str(root / "storage.conf"),
        }

    def run(
        self, *args: str, check: bool = True, timeout: float | None = None, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["podman", *args], env=self.env, capture_output=True, text=True, timeout=timeout, input=input
        )
        if check and done.returncode != 0:
            raise AssertionError(f"podman {' '.join(args)} exited {done.returncode}:\n{done.stderr[-4000:]}")
        return done

    def has_image(self, name: str) -> bool:
        return self.run("image", "exists", name, check=False).returncode == 0

    def ensure_base_image(self) -> None:
        """debian:bookworm-slim from Debian's packages (about a minute, once per store)."""
        if self.has_image(BASE_IMAGE):
            return
        hook = self.root / "add-ca.sh"
        hook.write_text(
            "#!/bin/sh\nset -e\n"
            'for crt in /usr/local/share/ca-certificates/*.crt; do [ -e "$crt" ] && '
            'cp "$crt" "$1/usr/local/share/ca-certificates/"; done\n'
            'chroot "$1" update-ca-certificates >/dev/null\n'
        )
        hook.chmod(0o755)
        rootfs = self.root / "bookworm-rootfs.tar"
        subprocess.run(
            [
                "mmdebstrap", "--variant=minbase", "--include=ca-certificates",
                f"--customize-hook={hook} \"$1\"", "bookworm", str(rootfs),
            ],
            check=True, capture_output=True,
        )  # fmt: skip
        self.run("import", str(rootfs), BASE_IMAGE)
        rootfs.unlink()

    def build(self, context: Path, tag: str, *extra: str) -> float:
        """Build `context` (its Dockerfile) as `tag`; returns the seconds it took."""
        started = time.monotonic()
        done = subprocess.run(
            ["podman", "build", "--pull=never", "--format=docker", "-t", tag, *extra, str(context)],
            env=self.env, capture_output=True, text=True,
        )  # fmt: skip
        if done.returncode != 0:
            raise AssertionError(f"building {tag} failed:\n{(done.stdout + done.stderr)[-6000:]}")
        return time.monotonic() - started

    def compose(self, project_dir: Path, files: Sequence[Path], *args: str, env: dict[str, str] | None = None,
                check: bool = True) -> subprocess.CompletedProcess[str]:  # fmt: skip
        """podman-compose (from the venv) in `project_dir`, as an operator runs it there."""
        command = [str(compose_command())]
        for file in files:
            command += ["-f", str(file)]
        done = subprocess.run(
            [*command, *args], cwd=project_dir, env={**self.env, **(env or {})}, capture_output=True, text=True
        )
        if check and done.returncode != 0:
            raise AssertionError(f"podman-compose {' '.join(args)} exited {done.returncode}:\n"
                                 f"{(done.stdout + done.stderr)[-4000:]}")  # fmt: skip
        return done
