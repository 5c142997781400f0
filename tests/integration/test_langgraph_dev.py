"""`langgraph dev` serves the same reply graph: Studio's door, driven with langgraph-sdk."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from pathlib import Path

import httpx
import pytest
from langgraph_sdk import get_client

from tests.conftest import models_toml
from tests.fakes.openai_server import FakeOpenAI, Reply

REPO = Path(__file__).resolve().parents[2]
NETGUARD = REPO / "tests" / "fakes" / "netguard"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_langgraph_dev_runs_the_reply_graph_offline(tmp_path: Path, fake_openai: FakeOpenAI):
    cli = Path(sys.executable).with_name("langgraph")
    if not cli.exists():
        pytest.fail("langgraph-cli[inmem] is a dev dependency; install with pip install -e '.[dev]'")
    (tmp_path / "observer.toml").write_text(models_toml(fake_openai.base_url))
    netlog = tmp_path / "outbound.log"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OBSERVER_")}
    env.update(
        OBSERVER_DATA_DIR=str(tmp_path / "data"),
        OBSERVER_CONFIG=str(tmp_path / "observer.toml"),
        PYTHONPATH=str(NETGUARD),
        NETGUARD_LOG=str(netlog),
        LANGGRAPH_CLI_NO_ANALYTICS="1",
    )
    proc = await asyncio.create_subprocess_exec(
        str(cli),
        "dev",
        "--no-browser",
        "--no-reload",
        "--port",
        str(port),
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        started = time.perf_counter()
        async with httpx.AsyncClient() as http:
            for _ in range(600):
                try:
                    if (await http.get(f"{url}/ok", timeout=1)).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.returncode is not None:
                    break
                await asyncio.sleep(0.1)
            else:
                pytest.fail("langgraph dev never answered /ok")
        assert proc.returncode is None, "langgraph dev exited early"
        print(f"langgraph dev ready in {time.perf_counter() - started:.1f} s")

        fake_openai.push(Reply("Hello Studio, nice to meet you."))
        fake_openai.token_delay_s = 0.15  # words further apart than the stream's batching interval
        client = get_client(url=url)
        tokens: list[str] = []
        final: dict = {}
        async for part in client.runs.stream(
            None,
            "reply",
            input={"text": "@Observer hi from Studio", "author": "erin", "channel": "lab"},
            stream_mode=["custom", "values"],
        ):
            if part.event == "custom" and part.data["kind"] == "token":
                tokens.append(part.data["text"])  # the typed stream events arrive as JSON with their kind
            elif part.event == "values":
                final = part.data
            elif part.event == "error":
                pytest.fail(f"run failed in langgraph dev: {part.data}")
        assert "".join(tokens) == "Hello Studio, nice to meet you." and len(tokens) > 3
        assert final["reply"] == "Hello Studio, nice to meet you."
        assert final["decision"]["respond"] is True and final["decision"]["reason"] == "mentioned"
        assert final["model"] == "chat" and final["persona"] == "observer", (
            "judge, model choice and persona are visible"
        )
        assert final["event"]["author_name"] == "erin" and final["event"]["channel_name"] == "lab"

        # The run's context is editable from Studio: here, the channel's mode.
        quiet: dict = {}
        async for part in client.runs.stream(
            None,
            "reply",
            input={"text": "@Observer still there?", "author": "erin", "channel": "lab"},
            context={"channel_mode": "observe"},
            stream_mode="values",
        ):
            if part.event == "values":
                quiet = part.data
        assert quiet["decision"]["respond"] is False and "observation" in quiet["decision"]["reason"]
        # Studio's form: the reply graph's input schema has the fields a person types into.
        assistants = {a["graph_id"]: a for a in await client.assistants.search()}
        schemas = await client.assistants.get_schemas(assistants["reply"]["assistant_id"])
        assert {"text", "author", "channel"} <= set(schemas["input_schema"]["properties"])

        # Studio's default: runs on one thread. Each run answers the message it was given.
        thread = await client.threads.create()
        runs: list[dict] = []
        for text in ("@Observer first question", "@Observer second question"):
            fake_openai.push(Reply(f"answer to {text.split()[1]}"))
            runs.append(
                await client.runs.wait(
                    thread["thread_id"], "reply", input={"text": text, "author": "erin", "channel": "lab"}
                )
            )
        assert runs[0]["event"]["text"] == "@Observer first question" and runs[0]["reply"] == "answer to first"
        assert runs[1]["event"]["text"] == "@Observer second question" and runs[1]["reply"] == "answer to second"
        assert runs[1]["event"]["message_id"] != runs[0]["event"]["message_id"]
        assert runs[1].get("text") is None, "the typed fields are consumed: nothing stale for the next run"
        last_prompt = fake_openai.requests[-1]["messages"]
        assert "first question" in str(last_prompt) and last_prompt[-1]["content"].endswith("second question"), (
            "the first message is in the record (the window), the second is the one answered"
        )

        # The profile graph is exported too, and runs over what the reply graph recorded.
        fake_openai.push(
            Reply(
                json_obj={
                    "tone": "curious",
                    "interests": "Studio",
                    "language": "English",
                    "answer_style": "short",
                    "temperature": 0.4,
                }
            )
        )
        graphs = {a["graph_id"] for a in await client.assistants.search()}
        assert graphs == {"reply", "profile"}
        profile = await client.runs.wait(None, "profile", input={"member": "erin", "guild_id": None})
        assert profile.get("error") == "no messages from this member yet" or profile["messages"]
        assert not netlog.exists() or netlog.read_text() == "", f"outbound attempts: {netlog.read_text()}"
    finally:
        if proc.returncode is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 20)
            except TimeoutError:
                os.killpg(proc.pid, signal.SIGKILL)
        stderr = (await proc.stderr.read()).decode() if proc.stderr else ""
        assert "BlockingError" not in stderr, "the graph blocked the event loop"
