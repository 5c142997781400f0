"""compose.yaml for real: Observer, PostgreSQL and the Chroma server in containers, the fake Discord and
the fake model server on the host. A mention is answered; `down` and `up` keep the record and memory (the
volumes); a `kill` of the bot's container mid-reply is finished in place after the restart."""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import models_toml
from tests.containers.conftest import REPO
from tests.containers.podman import Podman
from tests.e2e.bot_process import GUARD_S, IN_PROGRESS
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.openai_server import FakeOpenAI

pytestmark = pytest.mark.containers

HOST = "host.containers.internal"  # the host, as podman's containers see it
STORY = " ".join(f"word{i}" for i in range(30))


@dataclass
class Deployment:
    podman: Podman
    project: str
    env: dict[str, str]
    discord: FakeDiscord

    async def compose(self, *args: str, check: bool = True) -> Any:
        """In a worker thread, as every podman call here: the fake Discord runs on this loop and must keep
        answering heartbeats meanwhile."""
        files = [REPO / "compose.yaml", Path(__file__).parent / "compose.test.yaml"]
        return await asyncio.to_thread(
            self.podman.compose, REPO, files, "-p", self.project, *args, env=self.env, check=check
        )

    async def podman_run(self, *args: str, input: str | None = None) -> Any:
        return await asyncio.to_thread(self.podman.run, *args, input=input)

    def container(self, service: str) -> str:
        return f"{self.project}_{service}_1"

    async def healthy(self, service: str) -> None:
        """Run the service's own HEALTHCHECK until it passes (podman 4.3 runs none on its own without
        systemd, and podman-compose then cannot wait on `service_healthy`: the test does what docker does)."""
        await until(lambda: self.podman.run("healthcheck", "run", self.container(service), check=False).returncode == 0,
                    lambda: f"{service} never became healthy:\n{self.logs(service)}")  # fmt: skip

    def logs(self, service: str) -> str:
        done = subprocess.run(["podman", "logs", "--tail", "80", self.container(service)], env=self.podman.env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
        return done.stdout[-6000:]

    async def start(self) -> None:
        await self.compose("up", "-d", "postgres", "chroma")
        await self.healthy("postgres")
        await self.healthy("chroma")
        identified = self.discord.shard_links[0].identifies
        await self.compose("up", "-d", "--no-deps", "observer")
        await until(lambda: self.discord.shard_links[0].identifies > identified,
                    lambda: f"the bot never identified:\n{self.logs('observer')}")  # fmt: skip

    def replies_to(self, msg: dict[str, Any]) -> list[dict[str, Any]]:
        return [m for m in self.discord.bot_messages()
                if (m.get("message_reference") or {}).get("message_id") == msg["id"]]  # fmt: skip

    def answered(self, msg: dict[str, Any], text: str | None = None) -> bool:
        replies = self.replies_to(msg)
        if not replies or IN_PROGRESS in replies[-1]["content"]:
            return False
        return text is None or replies[-1]["content"] == text


async def until(check: Any, why: Any) -> None:
    """Poll `check` (in a worker thread) until true; `why` is the failure's text, or a callable giving it
    (container logs are read when it fails, not before)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + GUARD_S
    while not await asyncio.to_thread(check):
        if loop.time() > deadline:
            raise AssertionError(why() if callable(why) else why)
        await asyncio.sleep(0.5)


@pytest.fixture
async def deployment(
    tmp_path: Path, podman: Podman, observer_image: str, postgres_image: str
) -> AsyncIterator[tuple[Deployment, FakeOpenAI]]:
    discord = FakeDiscord()
    await discord.start(host="0.0.0.0", advertise=HOST)
    model = FakeOpenAI()
    await model.start(host="0.0.0.0", advertise=HOST)
    config = tmp_path / "config"
    config.mkdir()
    (config / "observer.toml").write_text(models_toml(model.base_url))
    env = {
        "DISCORD_TOKEN": "fake-token",
        "POSTGRES_PASSWORD": uuid.uuid4().hex,
        "BOT_IMAGE": observer_image,
        "POSTGRES_IMAGE": postgres_image,
        "TEST_DISCORD_API_BASE": discord.api_base,
        "TEST_DISCORD_GATEWAY_URL": discord.gateway_url,
        "TEST_GUILD_ID": discord.guild_id,
        "TEST_CONFIG_DIR": str(config),
    }
    deployment = Deployment(podman, f"observertest{uuid.uuid4().hex[:8]}", env, discord)
    try:
        yield deployment, model
    finally:
        await deployment.compose("down", "-v", "-t", "5", check=False)
        await discord.stop()
        await model.stop()


def mention(discord: FakeDiscord, text: str) -> str:
    return f"<@{discord.bot['id']}> {text}"


async def test_compose_answers_keeps_its_volumes_and_finishes_a_killed_reply(deployment):
    deploy, model = deployment
    discord = deploy.discord
    await deploy.start()
    observer = deploy.container("observer")

    # The HEALTHCHECK passes once the bot is connected to the gateway.
    await until(lambda: deploy.podman.run("healthcheck", "run", observer, check=False).returncode == 0,
                lambda: f"the bot never reported healthy:\n{deploy.logs('observer')}")  # fmt: skip

    # A mention is answered.
    alice = discord.add_user("alice")
    model.default_reply = "The capital of France is Paris."
    first = await discord.send_as(alice, mention(discord, "what is the capital of France?"))
    await until(lambda: deploy.answered(first, "The capital of France is Paris."),
                lambda: f"the mention was never answered:\n{deploy.logs('observer')}")  # fmt: skip

    # Memory in the Chroma server: a knowledge note, ingested through the bot's own command line.
    await deploy.podman_run("exec", "-i", observer, "sh", "-c", "cat > /data/harbour.md",
                            input="# Harbour\nThe harbour master is called Ingrid Solberg.\n")  # fmt: skip
    await deploy.podman_run("exec", observer, "observer", "persona", "ingest", "/data/harbour.md")

    # The container's own file system is untouched: everything went to the volume.
    # (podman itself writes /etc/hosts, /etc/hostname, /etc/resolv.conf and the mount points under /run.)
    diff = (await deploy.podman_run("diff", "--format", "json", observer)).stdout
    changed = [path for paths in json.loads(diff or "{}").values() for path in paths]
    podmans_own = {"/etc", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/run"}
    assert not [p for p in changed if p not in podmans_own and not p.startswith(("/run/", "/data"))], changed

    # `down` and `up` again: the record (PostgreSQL) and memory (Chroma) are still there.
    await deploy.compose("down", "-t", "30")
    await deploy.start()
    found = await deploy.podman_run("exec", observer, "observer", "persona", "search", "who is the harbour master?")
    assert "Ingrid Solberg" in found.stdout, found.stdout + found.stderr
    model.default_reply = "As I said: Paris."
    second = await discord.send_as(alice, mention(discord, "and again?"))
    await until(lambda: deploy.answered(second), lambda: f"no answer after up:\n{deploy.logs('observer')}")
    prompt = str(model.chat_requests()[-1]["messages"])
    assert "capital of France" in prompt, "the earlier exchange came back from the record"

    # kill -9 of the bot's container mid-reply: after the restart the same message is finished.
    model.default_reply = STORY
    model.token_delay_s = 0.25
    third = await discord.send_as(alice, mention(discord, "tell me a story"))

    def streaming() -> bool:
        replies = deploy.replies_to(third)
        return bool(replies) and IN_PROGRESS in replies[-1]["content"] and len(replies[-1]["content"].split()) > 2

    await until(streaming, lambda: f"the answer never started streaming:\n{deploy.logs('observer')}")
    await deploy.podman_run("kill", "--signal", "KILL", observer)
    [half] = deploy.replies_to(third)
    assert half["content"].endswith(IN_PROGRESS)
    model.token_delay_s = 0.0
    identified = discord.shard_links[0].identifies
    await deploy.podman_run("start", observer)
    await until(lambda: discord.shard_links[0].identifies > identified, "the bot never came back")
    await until(lambda: deploy.answered(third, STORY),
                lambda: f"the interrupted answer was never finished:\n{deploy.logs('observer')}")  # fmt: skip
    assert [m["id"] for m in deploy.replies_to(third)] == [half["id"]], "finished in place: never two answers"

    # `docker stop` (SIGTERM) drains and exits cleanly.
    await deploy.podman_run("stop", "-t", "60", observer)
    code = (await deploy.podman_run("inspect", "--format", "{{.State.ExitCode}}", observer)).stdout.strip()
    assert code == "0", deploy.logs("observer")
