"""First one wins (issue R): presses of an approval's buttons 50 ms apart, and at once from two members
who may both answer, resume the paused run exactly once (one tool call, one answer); the others are told
it was already answered. The real discord.py client against the fake Discord."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from agent.member_texts import ALREADY_ANSWERED
from tests.e2e.conftest import Harness, start_harness
from tests.e2e.test_rights import approval_prompt, button, replies_to, run_finished
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.mcp import tide_server_toml

ANSWER = "Your alarm is set."


@pytest.fixture
async def desk(tmp_path: Path, embedder: Any, fake_openai: FakeOpenAI) -> AsyncIterator[tuple[Harness, Path]]:
    alarms = tmp_path / "alarms.txt"
    toml = tide_server_toml(alarms, confirm=["set_alarm"], admins_approve=["set_alarm"])
    async for h in start_harness(tmp_path, embedder, fake_openai, toml, tools=True, checkpointed=True):
        hub = h.services.toolbox.hub
        await h.discord.wait_until(lambda hub=hub: all(s["state"] == "connected" for s in hub.status()))
        yield h, alarms


async def ask(h: Harness, who: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    h.model.push(Reply(tool_calls=[("set_alarm", {"time": "06:00", "label": "tide"})]), Reply(ANSWER))
    question = await h.discord.send_as(who, f"{h.mention()} wake me at 6")
    await h.discord.wait_until(lambda: approval_prompt(h, question) is not None)
    prompt = approval_prompt(h, question)
    assert prompt is not None
    return question, copy.deepcopy(prompt)  # as the members' clients show it, buttons and all


async def presses_settle(h: Harness, tokens: list[str], question: dict[str, Any]) -> None:
    d = h.discord
    await d.wait_until(lambda: all(d.interaction_responses.get(t) for t in tokens))
    await run_finished(h, question)


def outcome(h: Harness, tokens: list[str]) -> tuple[int, list[str]]:
    """(presses that resumed the run, what the others were told)."""
    firsts = [h.discord.interaction_responses[t][0] for t in tokens]
    accepted = sum(1 for r in firsts if r.get("type") == 7)  # the buttons' message updated
    told = [str(r["data"]["content"]) for r in firsts if r.get("type") == 4]
    return accepted, told


@pytest.mark.parametrize("presser", ["the asker twice", "the asker and an admin at once"])
async def test_presses_50_ms_apart_resume_the_run_once(desk: tuple[Harness, Path], presser: str) -> None:
    h, alarms = desk
    d = h.discord
    alice, admin = d.add_user("alice"), d.add_user("admin")
    question, prompt = await ask(h, alice)
    requests_before = len(h.model.chat_requests())
    approve = button(prompt, "Approve")
    if presser == "the asker twice":
        first = await d.click(alice, prompt, approve)
        await asyncio.sleep(0.05)
        tokens = [first, await d.click(alice, prompt, approve, stale=True)]
    else:
        tokens = list(
            await asyncio.gather(
                d.click(alice, prompt, approve), d.click(admin, prompt, approve, manage_guild=True, stale=True)
            )
        )
    await presses_settle(h, tokens, question)
    accepted, told = outcome(h, tokens)
    assert accepted == 1 and told == [ALREADY_ANSWERED], f"{presser}: {accepted} accepted, others told {told}"
    assert alarms.read_text() == "06:00 tide\n", "the approved call ran once"
    assert [r for r in replies_to(h, question) if ANSWER in r] == [ANSWER], "one answer"
    assert len(h.model.chat_requests()) == requests_before + 1, "the run resumed once: one more model call"
    assert await h.services.record.message(int(question["id"])) is not None
    state = await h.bot.progress.state(int(question["id"]))
    assert state == "answered"


async def test_approve_and_deny_at_once_one_verdict_wins(desk: tuple[Harness, Path]) -> None:
    h, alarms = desk
    d = h.discord
    alice = d.add_user("alice")
    question, prompt = await ask(h, alice)
    tokens = list(
        await asyncio.gather(
            d.click(alice, prompt, button(prompt, "Deny")),
            d.click(alice, prompt, button(prompt, "Approve"), stale=True),
        )
    )
    await presses_settle(h, tokens, question)
    accepted, told = outcome(h, tokens)
    assert accepted == 1 and told == [ALREADY_ANSWERED]
    updated = d.messages[prompt["channel_id"]][prompt["id"]]["content"]
    ran = alarms.exists()
    assert updated.startswith("✅ Approved" if ran else "❌ Denied"), "the buttons show the verdict that ran"
