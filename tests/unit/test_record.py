from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from agent.memory.db import create_engine, current_revision, head_revision, upgrade
from agent.memory.record import Record
from tests.conftest import make_event


@pytest.fixture
async def record(database_url: str) -> AsyncIterator[Record]:
    engine = create_engine(database_url)
    await upgrade(engine)
    rec = Record(engine)
    yield rec
    await rec.close()


async def test_migrations_are_applied_and_idempotent(database_url: str):
    engine = create_engine(database_url)
    await upgrade(engine)
    await upgrade(engine)
    assert await current_revision(engine) == head_revision()
    await engine.dispose()


async def test_store_is_idempotent_and_keeps_multilingual_text(record: Record):
    text = "こんにちは 🐱 Привет olá"
    event = make_event(text)
    assert await record.store_event(event) == "mentions"
    await record.store_event(event)  # a replayed gateway event
    assert await record.count_messages(event.channel_id) == 1
    assert await record.stored_text(event.message_id) == text


async def test_window_is_bounded_ordered_and_skips_deleted(record: Record):
    events = [make_event(f"message {i}", author=f"user{i % 3}") for i in range(30)]
    for e in events:
        await record.store_event(e)
    window = await record.window(events[0].channel_id, 10, before_id=events[-1].message_id)
    assert [line.text for line in window] == [f"message {i}" for i in range(19, 29)]
    await record.mark_deleted(events[25].message_id)
    await record.mark_edited(events[26].message_id, "message 26 (edited)")
    window = await record.window(events[0].channel_id, 5)
    assert [line.text for line in window] == [
        "message 24",
        "message 26 (edited)",
        "message 27",
        "message 28",
        "message 29",
    ]


async def test_bot_replies_are_linked_and_reply_chains_walk_up(record: Record):
    q = make_event("what is 2+2?")
    await record.store_event(q)
    reply_id = record.store_bot_reply(q, "4", bot_id=1, bot_name="Observer")
    follow = make_event("and times 3?", reply_to_id=reply_id)
    await record.store_event(follow)
    chain = await record.reply_chain(follow.reply_to_id, 10)
    assert [(line.author, line.text, line.is_bot) for line in chain] == [
        ("alice", "what is 2+2?", False),
        ("Observer", "4", True),
    ]


async def test_channel_mode_and_usage(record: Record):
    event = make_event("hi")
    await record.store_event(event)
    await record.set_channel_mode(event.channel_id, "auto")
    assert await record.channel_mode(event.channel_id) == "auto"
    with pytest.raises(ValueError, match="mode must be one of"):
        await record.set_channel_mode(event.channel_id, "loud")
    record.queue_usage(event, purpose="reply", model="m", tokens_in=10, tokens_out=5, cost_usd=0.01, latency_ms=12.5)
    rows = await record.usage_rows(event.message_id)
    assert rows[0]["guild_id"] == event.guild_id and rows[0]["user_id"] == event.author_id
    assert rows[0]["tokens_in"] == 10 and rows[0]["cost_usd"] == pytest.approx(0.01)


async def test_reset_hides_the_window_but_keeps_the_record(record: Record):
    before = [make_event(f"old {i}") for i in range(3)]
    for e in before:
        await record.store_event(e)
    assert await record.reset_window(before[0].channel_id) == 3
    after = make_event("new")
    await record.store_event(after)
    assert [line.text for line in await record.window(after.channel_id, 10)] == ["new"]
    assert await record.count_messages(after.channel_id) == 4


async def test_feedback_links_to_the_bots_last_reply_to_that_member(record: Record):
    question = make_event("2+2?", author="quinn")
    await record.store_event(question)
    # As Discord echoes it: a bot message replying to the question.
    echo = make_event("4", author="Observer", author_is_bot=True, reply_to_id=question.message_id)
    await record.store_event(echo)
    assert await record.last_bot_reply(question.channel_id, question.author_id) == echo.message_id
    assert await record.last_bot_reply(question.channel_id, 12345) is None
    assert await record.is_bot_message(echo.message_id) and not await record.is_bot_message(question.message_id)
    await record.add_feedback(
        kind="feedback",
        user_id=question.author_id,
        text="good",
        message_id=echo.message_id,
        guild_id=question.guild_id,
        channel_id=question.channel_id,
    )
    assert (await record.feedback_rows())[0]["text"] == "good"


async def test_a_proxied_members_lines_keep_the_names_they_were_shown_under(record: Record):
    # One account, two members of its system (PluralKit): each line under its own name, the account's kept.
    own = make_event("hi from my own account")
    al = make_event("sunny today", shown_name="Al (Sunny System)")
    bee = make_event("rain tomorrow", shown_name="Bee (Sunny System)")
    for e in (own, al, bee):
        await record.store_event(e)
    window = await record.window(own.channel_id, 10)
    assert [(line.author, line.text) for line in window] == [
        ("alice", "hi from my own account"),
        ("Al (Sunny System)", "sunny today"),
        ("Bee (Sunny System)", "rain tomorrow"),
    ]
    found = await record.search_messages([own.channel_id], own.guild_id, [], author="bee")
    assert [(r["author"], r["content"]) for r in found] == [("Bee (Sunny System)", "rain tomorrow")]
    assert [r["content"] for r in await record.search_messages([own.channel_id], own.guild_id, [], author="alice")] == [
        "hi from my own account"
    ]
