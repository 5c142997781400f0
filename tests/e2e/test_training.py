"""`/train` on the fake Discord (issue T): a job started by an admin, its progress message edited as it
advances, the tuned model usable with /model set; and the bot killed with `kill -9` mid-job, restarted,
picking the job up where the provider has it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.bot_process import BotProcess
from tests.e2e.conftest import Harness, start_harness
from tests.e2e.test_slash_commands import answer, sub
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.fine_tuning_server import FakeFineTuning
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.integration.test_cli import observer


def tunable(base_url: str) -> str:
    return f'[[models]]\nname = "tunable"\nmodel = "fake-chat"\nbase_url = "{base_url}"\nfine_tunable = true\n'


@pytest.fixture
async def tuned(tmp_path: Path, embedder: Any) -> AsyncIterator[tuple[Harness, FakeFineTuning]]:
    server = FakeOpenAI()
    fine = FakeFineTuning().mount(server)
    await server.start()
    try:
        async for h in start_harness(tmp_path, embedder, server, tunable(server.base_url)):
            yield h, fine
    finally:
        await server.stop()


def progress_message(h: Harness) -> dict[str, Any]:
    [message] = [m for m in h.discord.bot_messages() if "Training job #" in m["content"]]
    return message


async def followup(h: Harness, token: str) -> str:
    """The text of a deferred command's answer (its follow-up), once it has come."""
    d = h.discord

    def said() -> str:
        return next((r["followup"]["content"] for r in d.interaction_responses.get(token, []) if "followup" in r), "")

    await d.wait_until(said)
    return said()


async def test_an_admin_trains_a_model_the_channel_can_then_use(tuned: tuple[Harness, FakeFineTuning]):
    h, fine = tuned
    d = h.discord
    member, admin = d.add_user("member"), d.add_user("admin")
    token = await d.slash(member, "train", sub("start"))
    assert "Manage Server" in await answer(h, token)

    token = await d.slash(admin, "train", sub("start"), manage_guild=True)
    assert "Not started: nothing to train on" in await followup(h, token)
    example = [
        {
            "name": "example",
            "type": 2,
            "options": sub("add", prompt="Who runs the Lantern Tea House?", answer="Mrs. Okabe."),
        }
    ]
    token = await d.slash(member, "train", example)
    assert "Manage Server" in await answer(h, token)
    for i in range(12):
        group = [
            {
                "name": "example",
                "type": 2,
                "options": sub("add", prompt=f"Opening hour on day {i}?", answer=f"7:{i:02d}"),
            }
        ]
        token = await d.slash(admin, "train", group, manage_guild=True)
        assert await answer(h, token) == "Added 1 training example (inline)."

    token = await d.slash(admin, "train", sub("start"), manage_guild=True)
    started = await followup(h, token)
    assert (
        started.startswith("Training job #1 queued on tunable (sft, ") and "progress shows in this channel" in started
    )
    shown = [progress_message(h)["content"]]
    assert "queued" in shown[0] and "waiting to start" in shown[0]

    while not any(end in shown[-1] for end in ("succeeded", "failed", "cancelled")):
        await h.bot.training.pass_once()
        await h.settle()
        if progress_message(h)["content"] != shown[-1]:
            shown.append(progress_message(h)["content"])
    bars = [s for s in shown if "steps" in s]
    assert len(bars) >= 3, shown
    assert "█" in bars[1] and "░" in bars[1] and "loss" in bars[1] and "epoch" in bars[1]
    final = shown[-1]
    assert (
        "succeeded" in final and "[" + "█" * 20 + "]" in final and "model **tunable-ft1** is in the model list" in final
    )

    token = await d.slash(admin, "train", sub("status"))
    status = await answer(h, token)
    assert "base tunable · sft · remote" in status and "examples" in status and "cost: $" in status
    token = await d.slash(admin, "train", sub("list"))
    assert (await answer(h, token)).startswith("#1 succeeded · tunable → tunable-ft1 · sft")

    token = await d.slash(admin, "model", sub("set", name="tunable-ft1"), manage_guild=True)
    assert "tunable-ft1 answers" in await answer(h, token)
    [job] = fine.jobs.values()
    h.model.push(Reply("Mrs. Okabe runs it."))
    await d.send_as(member, f"{h.mention()} who runs the tea house?")
    await h.settle()
    assert h.model.chat_requests(job.fine_tuned_model), "the tuned model answered"


async def test_cancel_edits_the_progress_message(tuned: tuple[Harness, FakeFineTuning]):
    h, fine = tuned
    d = h.discord
    admin = d.add_user("admin")
    lines = "\n".join(json.dumps({"prompt": f"Q{i}?", "answer": f"A{i}."}) for i in range(12))
    upload = d.attachment("teach.jsonl", lines.encode(), "application/jsonl")
    add = {"name": "add", "type": 1, "options": [{"name": "file", "type": 11, "value": upload["id"]}]}
    group = [{"name": "example", "type": 2, "options": [add]}]
    token = await d.slash(admin, "train", group, manage_guild=True, attachments=[upload])
    assert await answer(h, token) == "Added 12 training examples (teach.jsonl)."
    token = await d.slash(admin, "train", sub("start", method="sft"), manage_guild=True)
    await followup(h, token)
    await h.bot.training.pass_once()
    token = await d.slash(admin, "train", sub("cancel"), manage_guild=True)
    assert await answer(h, token) == "Cancelled training job #1."
    assert "— cancelled" in progress_message(h)["content"]
    [job] = fine.jobs.values()
    assert job.status == "cancelled"
    token = await d.slash(admin, "train", sub("cancel", job=1), manage_guild=True)
    assert await answer(h, token) == "Job #1 had already cancelled."


@pytest.fixture
async def bot(tmp_path: Path, discord: FakeDiscord) -> AsyncIterator[tuple[BotProcess, FakeFineTuning]]:
    server = FakeOpenAI()
    fine = FakeFineTuning().mount(server)
    await server.start()
    process = BotProcess(
        tmp_path,
        discord,
        server,
        env={"OBSERVER_TRAINING_POLL_SECONDS": "0.2", "OBSERVER_TRAINING_LEASE_SECONDS": "1"},
        extra_toml="fine_tunable = true\n",
    )
    yield process, fine
    await process.stop()
    await server.stop()


async def test_kill_9_mid_job_the_restarted_bot_finishes_it(tmp_path: Path, bot: tuple[BotProcess, FakeFineTuning]):
    process, fine = bot
    d = process.discord
    (tmp_path / "observer.toml").write_text(process.models_toml())
    lines = "\n".join(json.dumps({"prompt": f"Q{i}?", "answer": f"A{i}."}) for i in range(12))
    (tmp_path / "teach.jsonl").write_text(lines)
    code, _, err = await observer(tmp_path, "dataset", "example", "add", "teach.jsonl", "--guild", d.guild_id)
    assert code == 0, err
    await process.start()
    admin = d.add_user("admin")
    await d.slash(admin, "train", sub("start"), manage_guild=True)

    def at_step(n: int) -> bool:
        return any(j.step >= n for j in fine.jobs.values())

    await process.wait_until(lambda: at_step(2), "the job never reached step 2")
    fine.hold = True  # the provider keeps the job where it is while the bot is down
    await process.kill9()
    before = next(m for m in d.bot_messages() if "Training job #1" in m["content"])["content"]
    assert "running" in before and "steps" in before

    await process.start()
    fine.hold = False

    def finished() -> bool:
        return any("succeeded" in m["content"] and "Training job #1" in m["content"] for m in d.bot_messages())

    await process.wait_until(finished, "the restarted bot never finished the job")
    assert len(fine.jobs) == 1, "the provider's job was picked up, not made again"
    code, out, err = await observer(tmp_path, "train", "status", "1")
    assert code == 0 and "succeeded" in out and "model chat-ft1 is in the model list" in out, err
    assert await process.terminate() == 0
