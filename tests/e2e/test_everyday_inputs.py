"""What members send every day, through the real discord.py client and the fake Discord: long pastes
that Discord turns into `message.txt`, prefix commands."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Harness, start_harness
from tests.fakes.openai_server import FakeOpenAI, Reply


def _asked(h: Harness) -> str:
    return str(h.model.requests[-1]["messages"][-1]["content"])


async def test_a_long_paste_reaches_the_model_and_stays_in_the_history(harness: Harness) -> None:
    d, model = harness.discord, harness.model
    alice, bob = d.add_user("alice"), d.add_user("bob")
    paste = "def add(a, b):\n    return a - b  # ← the bug\n" + "# padding line\n" * 400
    txt = d.attachment("message.txt", paste.encode("utf-8"), content_type="text/plain; charset=utf-8")
    model.push(Reply("Line 2 subtracts instead of adding."))
    await d.send_as(alice, f"{harness.mention()} what's wrong here?", attachments=[txt])
    await d.wait_for_bot_message()
    await harness.settle()
    asked = _asked(harness)
    assert "return a - b  # ← the bug" in asked, "the file's text reaches the model"
    assert "[attachment: message.txt]" in asked and "[end of message.txt]" in asked
    assert d.file_downloads.count(txt["id"]) == 1

    # A later turn reads it from the record: no second download.
    model.push(Reply("Use a + b."))
    await d.send_as(alice, f"{harness.mention()} and the fix?")
    await d.wait_for_bot_message()
    await harness.settle()
    history = "\n".join(str(m["content"]) for m in model.requests[-1]["messages"])
    assert "return a - b  # ← the bug" in history
    assert d.file_downloads.count(txt["id"]) == 1

    # A message the bot does not consider (mentions mode, not addressed): its file is never downloaded.
    other = d.attachment("notes.txt", b"private notes", content_type="text/plain")
    await d.send_as(bob, "just sharing", attachments=[other])
    await harness.settle()
    assert other["id"] not in d.file_downloads


@pytest.fixture
async def small_files(tmp_path: Path, embedder: Any, fake_openai: FakeOpenAI) -> AsyncIterator[Harness]:
    async for h in start_harness(tmp_path, embedder, fake_openai, attachment_max_chars=500):
        yield h


async def test_an_oversized_paste_is_cut_with_a_note_and_binaries_are_named(small_files: Harness) -> None:
    harness = small_files
    d, model = harness.discord, harness.model
    alice = d.add_user("alice")
    big = "".join(f"row {i}, value {i * 7}\n" for i in range(2000))
    csv = d.attachment("data.csv", big.encode("cp1251"), content_type="text/csv")
    binary = d.attachment("tool.exe", b"MZ\x90\x00" + bytes(2000), content_type="application/x-msdownload")
    model.push(Reply("A table of rows."))
    await d.send_as(alice, f"{harness.mention()} summarise", attachments=[csv, binary])
    await d.wait_for_bot_message()
    await harness.settle()
    asked = _asked(harness)
    assert "row 0, value 0" in asked and f"[data.csv: first 500 of {len(big):,} characters]" in asked
    assert "[attachment: tool.exe]" in asked and binary["id"] not in d.file_downloads


async def test_a_prefix_command_is_answered_on_discord_without_the_prefix(harness: Harness) -> None:
    d, model = harness.discord, harness.model
    alice = d.add_user("alice")
    model.push(Reply("Doing well, thank you!"))
    sent = await d.send_as(alice, "!chat Hello! How are you?")
    reply = await d.wait_for_bot_message()
    await harness.settle()
    assert reply["content"] == "Doing well, thank you!"
    assert reply["message_reference"]["message_id"] == sent["id"]
    # The prefix is gone; the member's own message carries no `name:` label (issue Q: the system prompt
    # names whom the bot answers, and small models copy a label back into their answers).
    assert _asked(harness) == "Hello! How are you?"
    stored = await harness.services.record.stored_text(int(sent["id"]))
    assert stored == "Hello! How are you?"


# ----- Discord's real life: deleted messages, proxied members, edits -----


async def _until_asked(h: Harness, n: int) -> None:
    await h.discord.wait_until(lambda: len(h.model.requests) >= n)


async def test_a_reply_to_a_deleted_message_still_arrives_mentioning_the_member(harness: Harness) -> None:
    d, model = harness.discord, harness.model
    alice = d.add_user("alice")
    model.gate = asyncio.Event()
    model.push(Reply("Two plus two is four."))
    asked = await d.send_as(alice, f"{harness.mention()} what is 2+2?")
    await _until_asked(harness, 1)
    await d.delete(asked)  # automod, while the model thinks
    model.gate.set()
    reply = await d.wait_for_bot_message()
    await harness.settle()
    assert d.refused_replies >= 1, "Discord refused the reply to the deleted message, as it does"
    final = d.messages[d.general["id"]][reply["id"]]
    assert final["content"] == f"<@{alice['id']}> Two plus two is four."
    assert final.get("message_reference") is None
    assert [str(u) for u in final["allowed_mentions"]["users"]] == [alice["id"]], "only the member is pinged"
    assert len(d.bot_messages()) == 1


@pytest.mark.parametrize("delete_first", [False, True], ids=["pluralkit-order", "delete-then-repost"])
async def test_a_proxied_member_is_answered_once_as_the_member(harness: Harness, delete_first: bool) -> None:
    d, model = harness.discord, harness.model
    alice = d.add_user("alice")
    model.gate = asyncio.Event()
    model.push(Reply("Sunny all week."))
    original = await d.send_as(alice, f"{harness.mention()} what's the weather? -al")
    # The proxy reposts within a second, while the answer is still being written (held at the model).
    repost = await d.proxy_repost(
        original, f"{harness.mention()} what's the weather?", name="Al (Sunny System)", delete_first=delete_first
    )
    # (not `settle`: the answer is held at the model) the bot has taken the repost for the member's.
    await d.wait_until(lambda: harness.bot.proxies.repost_of(int(original["id"])) is not None)
    model.gate.set()
    reply = await d.wait_for_bot_message()
    await harness.settle()
    assert [m["id"] for m in d.bot_messages()] == [reply["id"]], "answered once"
    assert len(model.requests) == 1, "the repost is not a second question"
    assert reply["message_reference"]["message_id"] == repost["id"], "the answer replies to the visible repost"
    assert reply["content"] == "Sunny all week."
    line = await harness.services.record.message(int(repost["id"]))
    assert line is not None and line.author == "Al (Sunny System)" and not line.is_bot, "the repost is the member's"

    # Their next question, proxied again, sees the first one as theirs in the history.
    model.push(Reply("Yes, take a hat."))
    again = await d.send_as(alice, f"{harness.mention()} hat? -al")
    await d.proxy_repost(again, f"{harness.mention()} hat?", name="Al (Sunny System)")
    await d.wait_for_bot_message()
    await harness.settle()
    history = [str(m["content"]) for m in model.requests[-1]["messages"]]
    assert any(c.startswith("Al (Sunny System): ") and "weather" in c for c in history)


async def test_an_edit_while_answering_is_noticed(harness: Harness) -> None:
    d, model = harness.discord, harness.model
    alice = d.add_user("alice")
    model.gate = asyncio.Event()
    model.push(Reply("Paris."))
    asked = await d.send_as(alice, f"{harness.mention()} capital of France?")
    await _until_asked(harness, 1)
    await d.edit_as(asked, f"{harness.mention()} capital of Italy?")
    await d.wait_until(lambda: int(asked["id"]) in harness.bot.edits)  # noticed while the model thinks
    model.gate.set()
    reply = await d.wait_for_bot_message()
    await harness.settle()
    final = d.messages[d.general["id"]][reply["id"]]["content"]
    assert final.startswith("Paris.") and "you edited your message while I was answering" in final
    assert await harness.services.record.stored_text(int(asked["id"])) == "@Observer capital of Italy?"
