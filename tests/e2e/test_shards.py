"""Liveness per shard: the real `observer run` on two shards of the fake Discord; one shard's session
is invalidated and it must IDENTIFY again, while the other shard's guild keeps being answered."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.bot_process import BotProcess
from tests.e2e.test_crash_recovery import states
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.openai_server import FakeOpenAI

SHARDS = 2  # the fake Discord's gateway (the `discord` fixture in tests/conftest.py)


@pytest.fixture
async def bot(tmp_path: Path, discord: FakeDiscord, fake_openai: FakeOpenAI) -> AsyncIterator[BotProcess]:
    fake_openai.default_reply = "here"
    process = BotProcess(tmp_path, discord, fake_openai)
    yield process
    await process.stop()


async def test_a_shard_that_must_identify_again_holds_back_only_its_own_guilds(bot: BotProcess, discord: FakeDiscord):
    home = discord.shard_of(discord.guild_id)
    other = 1 - home
    elsewhere = discord.add_channel("elsewhere", guild=discord.add_guild("Elsewhere", shard=other))
    alice = discord.add_user("alice")
    ask = f"<@{discord.bot['id']}>"

    await bot.start()
    await bot.wait_until(lambda: all(link.identifies for link in discord.shard_links.values()), "both shards")
    first = [
        await discord.send_as(alice, f"{ask} hi", channel=discord.general),
        await discord.send_as(alice, f"{ask} hi", channel=elsewhere),
    ]
    await bot.wait_until(lambda: all(bot.answered(m, "here") for m in first), "both guilds answered at first")

    # The home guild's shard loses its session and is kept waiting at IDENTIFY.
    gate = discord.identify_gates[home] = asyncio.Event()
    await discord.invalidate_session(home)
    await bot.wait_until(lambda: discord.shard_links[home].ws is None, "the shard left to identify again")
    missed = await discord.send_as(alice, f"{ask} said while my shard was away", channel=discord.general)

    meanwhile = await discord.send_as(alice, f"{ask} the other shard still answers?", channel=elsewhere)
    await bot.wait_until(lambda: bot.answered(meanwhile, "here"), "the healthy shard's guild was held back")
    assert not bot.replies_to(missed), "the away shard's message was never delivered live"

    gate.set()
    await bot.wait_until(lambda: discord.shard_links[home].identifies == 2, "the shard identified again")
    await bot.wait_until(lambda: bot.answered(missed, "here"), "the message missed by the shard was caught up")
    after = await discord.send_as(alice, f"{ask} and now?", channel=discord.general)
    await bot.wait_until(lambda: bot.answered(after, "here"), "the re-identified shard answers live again")
    assert discord.shard_links[other].identifies == 1, "the other shard kept its session"
    assert await bot.terminate() == 0


def history_reads(discord: FakeDiscord, channel: dict) -> int:
    return len(discord.calls("GET", f"channels/{channel['id']}/messages"))


async def test_a_channel_the_record_never_stored_is_caught_up_when_its_shard_returns(
    tmp_path: Path, bot: BotProcess, discord: FakeDiscord
):
    home = discord.shard_of(discord.guild_id)
    alice = discord.add_user("alice")
    ask = f"<@{discord.bot['id']}>"
    quiet = discord.add_channel("quiet")  # nobody ever spoke here while the bot was listening
    silent = discord.add_channel("silent")  # nobody speaks here at all: costs no REST call
    hidden = discord.add_channel("hidden")  # the bot may not read it
    hidden["permission_overwrites"] = [{"id": discord.bot["id"], "type": 1, "allow": "0", "deny": str(1 << 10)}]

    await bot.start()
    await bot.wait_until(lambda: all(link.identifies for link in discord.shard_links.values()), "both shards")
    first = await discord.send_as(alice, f"{ask} hi", channel=discord.general)
    await bot.wait_until(lambda: bot.answered(first, "here"), "answered at first")

    gate = discord.identify_gates[home] = asyncio.Event()
    await discord.invalidate_session(home)
    await bot.wait_until(lambda: discord.shard_links[home].ws is None, "the shard left to identify again")
    chatter = await discord.send_as(alice, "just chatting, not to the bot", channel=quiet)
    missed = await discord.send_as(alice, f"{ask} asked in a channel you never saw", channel=quiet)
    await discord.send_as(alice, f"{ask} you cannot read this", channel=hidden)

    gate.set()
    await bot.wait_until(lambda: bot.answered(missed, "here"), "the question missed in a new channel was lost")
    assert len(bot.replies_to(missed)) == 1
    assert history_reads(discord, silent) == 0, "a channel where nothing was said is not read"
    assert history_reads(discord, hidden) == 0, "a channel the bot may not read is not read"
    assert await bot.terminate() == 0
    assert await states(tmp_path, chatter, missed) == ["skipped", "answered"], "the chatter is in the record"


async def test_a_channel_the_record_never_stored_is_caught_up_after_downtime(
    tmp_path: Path, bot: BotProcess, discord: FakeDiscord
):
    alice = discord.add_user("alice")
    ask = f"<@{discord.bot['id']}>"
    quiet = discord.add_channel("quiet")
    await bot.start()
    first = await discord.send_as(alice, f"{ask} hi", channel=discord.general)
    await bot.wait_until(lambda: bot.answered(first, "here"), "answered at first")
    assert await bot.terminate() == 0

    missed = await discord.send_as(alice, f"{ask} asked while you were down", channel=quiet)
    await bot.start()
    await bot.wait_until(lambda: bot.answered(missed, "here"), "the question missed in a new channel was lost")
    assert len(bot.replies_to(missed)) == 1
    assert await bot.terminate() == 0
