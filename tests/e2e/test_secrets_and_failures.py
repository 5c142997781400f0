"""The real `observer run` against the fake Discord and a model server that misbehaves: a 401 that echoes
the key, a real context smaller than configured, a message too long for it, replies cut by a bound."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from agent.member_texts import FAILURE_TEXTS
from tests.conftest import models_toml
from tests.e2e.bot_process import BotProcess
from tests.e2e.test_slash_commands import sub
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.openai_server import FakeOpenAI

KEY = "sk-proj-T3stK3yThatMustNeverLeak0123456789abcdef"


class KeyedBot(BotProcess):
    """The model reads its key from $FAKE_MODEL_KEY; replies are capped at a few tokens."""

    def models_toml(self) -> str:
        toml = models_toml(self.model.base_url, max_output_tokens=12, context_window=8192)
        return toml.replace("[[models]]\n", '[[models]]\napi_key_env = "FAKE_MODEL_KEY"\n')


@pytest.fixture
async def bot(tmp_path: Path, discord: FakeDiscord, fake_openai: FakeOpenAI) -> AsyncIterator[BotProcess]:
    process = KeyedBot(tmp_path, discord, fake_openai, env={"FAKE_MODEL_KEY": KEY})
    yield process
    await process.stop()


def mention(discord: FakeDiscord, text: str) -> str:
    return f"<@{discord.bot['id']}> {text}"


def interaction_text(discord: FakeDiscord, token: str) -> str:
    for item in discord.interaction_responses.get(token, []):
        body = item.get("data") or item.get("edit") or item.get("followup") or {}
        if body.get("content"):
            return str(body["content"])
    return ""


def everything_written(tmp_path: Path) -> bytes:
    """Every byte the bot left in its data dir (record, checkpoints, memory) and its log."""
    return b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and p.name != "observer.toml")


async def test_a_key_echoed_by_the_server_appears_nowhere_and_failures_are_classified(
    tmp_path: Path, bot: BotProcess, discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    fake_openai.reject_keys = True
    fake_openai.flavour = "unbounded"  # ignores the output cap: the bot's own count cuts the reply
    fake_openai.default_reply = " ".join(f"word{i}" for i in range(40))
    await bot.start()
    alice, bob, admin = discord.add_user("alice"), discord.add_user("bob"), discord.add_user("admin")

    # 1. A 401 echoing the key: the member reads one classified line; admins see the redacted detail.
    asked = await discord.send_as(alice, mention(discord, "hello there"))
    await bot.wait_until(lambda: bot.answered(asked), "no answer to the first question")
    assert bot.replies_to(asked)[-1]["content"] == FAILURE_TEXTS["misconfigured"]
    token = await discord.slash(bob, "observer", sub("status"))
    await bot.wait_until(lambda: interaction_text(discord, token), "no status")
    assert "last error: one (details for admins)" in interaction_text(discord, token)
    token = await discord.slash(admin, "observer", sub("status"), manage_guild=True)
    await bot.wait_until(lambda: interaction_text(discord, token), "no status for the admin")
    status = interaction_text(discord, token)
    assert "HTTP 401" in status and "[redacted]" in status and KEY not in status
    assert "cooling down: none" in status  # a client error cools nothing

    # 2. The key is fixed, but the server's real window is far smaller than configured.
    fake_openai.reject_keys = False
    fake_openai.context_window, fake_openai.overflow_family = 2048, "llamacpp"
    for i in range(12):  # a busy channel's history, not addressed to the bot
        await discord.send_as(bob if i % 2 else admin, f"chatter {i} " + "lorem ipsum dolor sit amet " * 40)
    long = await discord.send_as(alice, mention(discord, "please read: " + "the quick brown fox jumps " * 70))
    await bot.wait_until(lambda: bot.answered(long), "the long message was never answered")
    second = await discord.send_as(bob, mention(discord, "and a short one from me"))
    await bot.wait_until(lambda: bot.answered(second), "the second member was never answered")
    for reply in (bot.replies_to(long)[-1], bot.replies_to(second)[-1]):
        # 3. Both cut by the length cap (12 tokens): each says so.
        assert reply["content"].startswith("word0 word1") and reply["content"].endswith(
            "-# (cut: reached the length limit)"
        ), reply["content"]
    assert fake_openai.overflows >= 1
    assert not any("busy" in m["content"].lower() for m in discord.bot_messages())
    # The note is the door's, not the model's words: the next request's history does not carry it.
    assistant = [m for m in fake_openai.requests[-1]["messages"] if m["role"] == "assistant"]
    assert assistant and not any("(cut:" in str(m["content"]) for m in assistant)

    # 4. A window so small that the member's own message cannot fit: one line saying so, nothing cools.
    fake_openai.context_window = 300
    huge = await discord.send_as(alice, mention(discord, "review this: " + "a very long paste of text " * 70))
    await bot.wait_until(lambda: bot.answered(huge), "the too-long message got no answer")
    assert bot.replies_to(huge)[-1]["content"] == FAILURE_TEXTS["too_long"]

    assert await bot.terminate() == 0
    said: list[Any] = [m["content"] for m in discord.bot_messages()]
    said += [str(r) for rs in discord.interaction_responses.values() for r in rs]
    assert not any(KEY in s or KEY[9:30] in s for s in said)
    log = bot.logs()
    assert "401" in log and KEY not in log and KEY[9:30] not in log
    written = everything_written(tmp_path)
    assert KEY.encode() not in written and KEY[9:30].encode() not in written
