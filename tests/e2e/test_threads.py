"""Automatic threads (issue N) through the real discord.py client and the fake Discord, which opens
threads as Discord does (from a message, one per message, names of 1–100 characters, Create Public
Threads checked), refuses the bot's messages in archived or locked threads and without Send Messages in
Threads, and reopens an archived thread when a member writes in it."""

from __future__ import annotations

import asyncio
from typing import Any

from agent.member_texts import NEEDS_THREAD_PERMISSIONS
from tests.e2e.conftest import Harness
from tests.e2e.test_slash_commands import answer, sub
from tests.fakes.discord_server import CREATE_PUBLIC_THREADS
from tests.fakes.openai_server import Reply


async def threads(h: Harness, state: str, channel: dict[str, Any] | None = None) -> str:
    admin = h.discord.add_user("admin")
    token = await h.discord.slash(admin, "observer", sub("threads", state=state), channel=channel, manage_guild=True)
    return await answer(h, token)


def prompt_text(h: Harness) -> str:
    return "\n".join(str(m.get("content")) for m in h.model.requests[-1]["messages"])


async def test_a_question_opens_a_thread_followed_until_it_is_archived(harness: Harness):
    h, d = harness, harness.discord
    alice, bob = d.add_user("alice"), d.add_user("bob")
    token = await d.slash(bob, "observer", sub("threads", state="on"))
    assert "Manage Server" in await answer(h, token), "members cannot switch it"
    assert "questions to me open a thread" in await threads(h, "on")

    h.model.push(Reply("How about Miso?"))
    question = await d.send_as(alice, f"{h.mention()} What should I **name** my cat? 🐈‍⬛ <@{bob['id']}> any ideas")
    await d.wait_for_bot_message(lambda m: m["channel_id"] == question["id"])
    await h.settle()
    [thread] = d.threads_of(d.general)
    assert thread["id"] == question["id"] and thread["owner_id"] == d.bot["id"]
    assert thread["name"] == "What should I name my cat? 🐈‍⬛ bob any ideas"
    assert not d.bot_messages(d.general), "the answer is in the thread, not in the channel"
    [first] = d.bot_messages(thread)
    assert first["content"] == f"<@{alice['id']}> How about Miso?", "the member is mentioned (added to the thread)"
    assert [str(u) for u in first["allowed_mentions"]["users"]] == [alice["id"]]

    # In the thread, no mention needed: the thread is the conversation; its question is in the context.
    h.model.push(Reply("Then Mochi."))
    await d.send_as(alice, "something shorter?", channel=thread)
    await h.settle()
    assert [m["content"] for m in d.bot_messages(thread)][-1] == "Then Mochi."
    assert "What should I **name** my cat?" in prompt_text(h) and "How about Miso?" in prompt_text(h)

    # Others in the thread are talking to each other: not answered without a mention.
    asked = len(h.model.requests)
    await d.send_as(bob, "hey alice, lunch later?", channel=thread)
    await h.settle()
    assert len(h.model.requests) == asked and len(d.bot_messages(thread)) == 2

    # Archived: no longer followed, even once a member's message reopens it; a mention is still answered.
    await d.archive(thread)
    await h.settle()
    asked = len(h.model.requests)
    await d.send_as(bob, "I like Mochi too", channel=thread)
    await h.settle()
    assert len(h.model.requests) == asked and len(d.bot_messages(thread)) == 2
    h.model.push(Reply("Glad you agree."))
    await d.send_as(bob, f"{h.mention()} right?", channel=thread)
    await h.settle()
    assert d.bot_messages(thread)[-1]["content"].endswith("Glad you agree.")

    # A locked thread refuses the bot, as on Discord: never followed.
    await d.archive(thread, locked=True)
    await h.settle()
    assert d.threads_of(d.general) == [thread]

    # Off: answers inline again.
    assert "without threads" in await threads(h, "off")
    h.model.push(Reply("Inline."))
    await d.send_as(alice, f"{h.mention()} and now?")
    await h.settle()
    assert [m["content"] for m in d.bot_messages(d.general)] == ["Inline."]


async def test_without_thread_permissions_the_answer_comes_inline_and_admins_are_told_once(harness: Harness):
    h, d = harness, harness.discord
    d.deny_bot(d.general, CREATE_PUBLIC_THREADS)
    await d.refresh_guild()
    assert "grant me Create Public Threads" in await threads(h, "on")
    alice = d.add_user("alice")
    for i in range(2):
        h.model.push(Reply(f"Answer {i}."))
        await d.send_as(alice, f"{h.mention()} question {i}?")
        await h.settle()
    shown = [m["content"] for m in d.bot_messages(d.general)]
    assert shown == ["Answer 0.", NEEDS_THREAD_PERMISSIONS, "Answer 1."], "answered inline; the note once"
    assert not d.threads_of(d.general)

    # Discord itself refusing (the cache thought it was allowed): still answered inline, no second note.
    d.general["permission_overwrites"] = []
    await d.refresh_guild()
    d.deny_bot(d.general, CREATE_PUBLIC_THREADS)  # Discord knows; the bot's cache does not
    h.model.push(Reply("Answer 2."))
    await d.send_as(alice, f"{h.mention()} question 2?")
    await h.settle()
    assert [m["content"] for m in d.bot_messages(d.general)][-1] == "Answer 2."
    assert d.calls("POST", "/threads") and d.calls("POST", "/threads")[-1].status == 403
    assert [m["content"] for m in d.bot_messages(d.general)].count(NEEDS_THREAD_PERMISSIONS) == 1


async def test_a_question_deleted_before_its_thread_opens_is_answered_inline_with_no_permission_note(
    harness: Harness,
):
    """Automod (or the member) deleting the question while the answer is written: Discord answers the
    thread's creation with 404; that is no admin's to fix, so the channel gets no permission note."""
    h, d = harness, harness.discord
    await threads(h, "on")
    alice = d.add_user("alice")
    h.model.gate = asyncio.Event()
    h.model.push(Reply("Here you go."))
    question = await d.send_as(alice, f"{h.mention()} will automod delete this?")
    await d.wait_until(lambda: h.model.requests)
    # Gone on Discord's side before its delete event reaches the bot (automod acts in the same moment).
    del d.messages[question["channel_id"]][question["id"]]
    h.model.gate.set()
    await d.wait_until(lambda: any(m["content"].endswith("Here you go.") for m in d.bot_messages(d.general)))
    await h.settle()
    assert not d.threads_of(d.general)
    assert NEEDS_THREAD_PERMISSIONS not in [m["content"] for m in d.bot_messages(d.general)]


async def test_auto_threads_only_when_others_are_talking(harness: Harness):
    h, d = harness, harness.discord
    assert "in a quiet channel I answer inline" in await threads(h, "auto")
    alice, carol = d.add_user("alice"), d.add_user("carol")
    h.model.push(Reply("Quiet answer."))
    await d.send_as(alice, f"{h.mention()} anyone here?")
    await h.settle()
    assert [m["content"] for m in d.bot_messages(d.general)] == ["Quiet answer."]
    assert not d.threads_of(d.general)

    await d.send_as(carol, "talking about the release here")
    h.model.push(Reply("Busy answer."))
    question = await d.send_as(alice, f"{h.mention()} when is lunch?")
    await h.settle()
    [thread] = d.threads_of(d.general)
    assert thread["id"] == question["id"] and thread["name"] == "when is lunch?"
    assert d.bot_messages(thread)[-1]["content"].endswith("Busy answer.")


async def test_each_forum_post_is_its_own_conversation(harness: Harness):
    h, d = harness, harness.discord
    forum = d.add_forum("help")
    await d.refresh_guild()
    bob, kim = d.add_user("bob"), d.add_user("kim")
    first, _ = await d.post_in_forum(bob, forum, "Printer", "The printer is jammed")
    await h.settle()
    assert not d.bot_messages(first), "threads off in the forum: a post without a mention is not answered"

    # Run inside a post, the setting is the forum's.
    assert "every post is a conversation" in await threads(h, "on", channel=first)
    h.model.push(Reply("Reset it from the settings page."))
    post, starter = await d.post_in_forum(bob, forum, "Password", "How do I reset my password?")
    await d.wait_for_bot_message(lambda m: m["channel_id"] == post["id"])
    await h.settle()
    [answer_1] = d.bot_messages(post)
    assert answer_1["content"] == "Reset it from the settings page."
    assert answer_1["message_reference"]["message_id"] == starter["id"], "a reply to the post"
    h.model.push(Reply("Then ask an admin."))
    await d.send_as(bob, "the page is blank", channel=post)
    await h.settle()
    assert d.bot_messages(post)[-1]["content"] == "Then ask an admin."
    assert "How do I reset my password?" in prompt_text(h)

    h.model.push(Reply("Use the blue cable."))
    other, _ = await d.post_in_forum(kim, forum, "Monitor", "My monitor stays black")
    await d.wait_for_bot_message(lambda m: m["channel_id"] == other["id"])
    await h.settle()
    assert "My monitor stays black" in prompt_text(h)
    assert "password" not in prompt_text(h), "another post is another conversation"
