"""Containers (issue D): the image's size and build time, container start → IDENTIFY, and the bot's
reaction (MESSAGE_CREATE → its first message, the fake model answering at once) in the container beside
the same `observer run` on bare metal, against one fake Discord.

    .venv/bin/python -m bench.containers          # builds the image when the test store lacks it
    .venv/bin/python -m bench.containers --cold   # and a cold build first (no layer cache)

Needs what the container tests need (root, podman, mmdebstrap; see tests/containers/podman.py).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.harness import NO_FLOOD, summary
from tests.conftest import models_toml
from tests.containers.conftest import IMAGE, REPO
from tests.containers.podman import Podman, store_dir, unavailable_reason
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.openai_server import FakeOpenAI

HOST = "host.containers.internal"
MENTIONS = 30


async def wait_for(check: Callable[[], bool], limit: float = 300, log: Path | None = None) -> None:
    deadline = time.monotonic() + limit
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("gave up waiting" + (f":\n{log.read_text()[-3000:]}" if log else ""))
        await asyncio.sleep(0.01)


async def reactions(discord: FakeDiscord, n: int) -> list[float]:
    """ms from each mention sent to the bot's first message arriving; 3 warm-ups not counted."""
    person = discord.add_user("asker")
    out: list[float] = []
    for i in range(n + 3):
        arrived = asyncio.get_running_loop().create_future()
        discord.message_waiters.append((lambda m: True, arrived))
        sent = time.perf_counter()
        await discord.send_as(person, f"<@{discord.bot['id']}> quick question {i}")
        await asyncio.wait_for(arrived, 120)
        if i >= 3:
            out.append((time.perf_counter() - sent) * 1000)
        # A member's questions are answered in order: let this answer finish (its last edit comes after
        # OBSERVER_EDIT_INTERVAL_SECONDS), so each mention is measured from quiet.
        await asyncio.sleep(2.0)
    return out


async def container_run(podman: Podman, tmp: Path) -> tuple[float, list[float]]:
    discord, model = FakeDiscord(message_limit=(1000, 1.0)), FakeOpenAI()  # rate limits are not measured here
    await discord.start(host="0.0.0.0", advertise=HOST)
    await model.start(host="0.0.0.0", advertise=HOST)
    (tmp / "observer.toml").write_text(NO_FLOOD + models_toml(model.base_url))
    tmp.chmod(0o755)  # the container's user (uid 10001) reads the model list from it
    name = f"observer-bench-{os.getpid()}"
    env = {
        "DISCORD_TOKEN": "fake-token",
        "OBSERVER_DISCORD_API_BASE": discord.api_base,
        "OBSERVER_DISCORD_GATEWAY_URL": discord.gateway_url,
        "OBSERVER_DEV_GUILD_ID": discord.guild_id,
        "OBSERVER_PROFILE_EVERY_N": "0",
    }
    args = ["run", "-d", "--name", name, "-v", f"{tmp}:/config:ro", "-v", f"{name}:/data"]
    for key, value in env.items():
        args += ["-e", f"{key}={value}"]
    try:
        started = time.perf_counter()
        podman.run(*args, IMAGE)
        try:
            await wait_for(lambda: discord.shard_links[0].identifies > 0)
        except TimeoutError:
            logs = podman.run("logs", name, check=False)
            raise TimeoutError(f"the container never identified:\n{(logs.stdout + logs.stderr)[-3000:]}") from None
        identify_s = time.perf_counter() - started
        return identify_s, await reactions(discord, MENTIONS)
    finally:
        podman.run("rm", "-f", "-t", "5", name, check=False)
        podman.run("volume", "rm", "-f", name, check=False)
        await discord.stop()
        await model.stop()


async def bare_run(tmp: Path) -> tuple[float, list[float]]:
    discord, model = FakeDiscord(message_limit=(1000, 1.0)), FakeOpenAI()  # rate limits are not measured here
    await discord.start()
    await model.start()
    (tmp / "observer.toml").write_text(NO_FLOOD + models_toml(model.base_url))
    env = {k: v for k, v in os.environ.items() if not k.startswith("OBSERVER_")}
    env.update(
        DISCORD_TOKEN="fake-token",
        OBSERVER_DATA_DIR=str(tmp / "data"),
        OBSERVER_CONFIG=str(tmp / "observer.toml"),
        OBSERVER_DISCORD_API_BASE=discord.api_base,
        OBSERVER_DISCORD_GATEWAY_URL=discord.gateway_url,
        OBSERVER_DEV_GUILD_ID=discord.guild_id,
        OBSERVER_PROFILE_EVERY_N="0",
    )
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    started = time.perf_counter()
    with (tmp / "bot.log").open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "command_line", "run", env=env, cwd=tmp, stdout=log, stderr=log
        )
    try:
        await wait_for(lambda: discord.shard_links[0].identifies > 0, log=tmp / "bot.log")
        identify_s = time.perf_counter() - started
        try:
            return identify_s, await reactions(discord, MENTIONS)
        except TimeoutError:
            raise TimeoutError(f"no answer on bare metal:\n{(tmp / 'bot.log').read_text()[-3000:]}") from None
    finally:
        proc.kill()
        await proc.wait()
        await discord.stop()
        await model.stop()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cold", action="store_true", help="time a build without the layer cache first")
    args = parser.parse_args()
    if reason := unavailable_reason():
        sys.exit(f"bench.containers: {reason}")
    podman = Podman(store_dir())
    podman.ensure_base_image()
    if args.cold:
        print(f"cold build (no layer cache): {podman.build(REPO, IMAGE, '--no-cache'):.0f} s")
    elif not podman.has_image(IMAGE):
        print(f"build: {podman.build(REPO, IMAGE):.0f} s")
    size = int(podman.run("image", "inspect", "--format", "{{.Size}}", IMAGE).stdout.strip())
    print(f"image size: {size / 1e6:.0f} MB ({size / 2**20:.0f} MiB)")
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        bare_identify, bare = await bare_run(Path(a))
        box_identify, box = await container_run(podman, Path(b))
    print(f"start -> IDENTIFY: bare metal {bare_identify:.1f} s, container {box_identify:.1f} s (fresh data)")
    print(summary("bare metal: mention -> first bot message", bare))
    print(summary("container:  mention -> first bot message", box))


if __name__ == "__main__":
    asyncio.run(main())
