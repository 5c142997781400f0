"""Behaviour a member of a Discord server sees, through the real discord.py client."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

from tests.e2e.burst import everyone_told, outcome
from tests.e2e.conftest import Harness, start_harness
from tests.fakes.openai_server import FakeOpenAI, Reply

CAT_ANSWER = "How about Miso? It is short, warm and easy to call across the house. Mochi and Tofu work too."


async def test_a_mention_gets_a_streamed_reply(harness: Harness):
    d, model = harness.discord, harness.model
    model.token_delay_s = 0.08  # ~2 s of streaming: several edits
    model.push(Reply(CAT_ANSWER))
    alice = d.add_user("alice")
    asked = await d.send_as(alice, f"{harness.mention()} what should I name my cat?")
    first = await d.wait_for_bot_message()
    await harness.settle()

    assert first["message_reference"]["message_id"] == asked["id"], "answers as a reply to the question"
    assert first["allowed_mentions"] == {"parse": [], "replied_user": True}, "pings only the author"
    assert d.general["id"] in d.typing, "shows typing first"
    final = d.messages[d.general["id"]][first["id"]]
    assert final["content"] == CAT_ANSWER, "the final edit has the whole answer without the marker"
    edits = final.get("_edits", [])
    assert len(edits) >= 2, "the text grows by edits"
    assert any("▌" in (content or "") for _, content in edits[:-1])
    # Interim edits (with the marker) about once a second, measured where the fake server receives
    # them so HTTP jitter on a busy machine shows up; the final edit goes out as soon as the answer is done.
    interim = [(at, content) for at, content in [(final["_posted_at"], first["content"]), *edits] if "▌" in content]
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(interim)]
    assert all(gap >= 0.7 for gap in gaps), f"edits about once a second, got {gaps}"
    # The model saw the question as the member wrote it, with the bot's name.
    assert model.requests[-1]["messages"][-1]["content"] == "what should I name my cat?"
    # The record holds the question and, through the gateway echo and its edits, the final answer.
    assert await harness.services.record.stored_text(int(asked["id"])) == "@Observer what should I name my cat?"
    assert await harness.services.record.stored_text(int(first["id"])) == CAT_ANSWER


async def test_long_answers_split_without_breaking_code_or_japanese(harness: Harness):
    d, model = harness.discord, harness.model
    code = "\n".join(f"    total += item_{i}  # 合計に加える" for i in range(90))
    japanese = "これはとても長い説明です。" * 120
    answer = f"Here it is:\n\n```python\ndef total():\n{code}\n```\n\n{japanese}"
    model.push(Reply(answer))
    bob = d.add_user("bob")
    await d.send_as(bob, f"{harness.mention()} write me the code and explain in Japanese")
    await d.wait_for_bot_message()
    await harness.settle()
    sent = d.bot_messages(d.general)
    assert len(sent) >= 3
    assert "message_reference" in sent[0] and all("message_reference" not in m for m in sent[1:])
    for message in sent:
        content = message["content"]
        assert len(content) <= 2000 and "▌" not in content
        assert content.count("```") % 2 == 0, "every message has balanced code fences"
    assert sent[1]["content"].startswith("```python"), "the code block reopens with its language"
    assert all(m["content"].endswith(("。", "```")) for m in sent[:-1] if "。" in m["content"])
    joined = "".join(m["content"] for m in sent)
    assert joined.count("これはとても長い説明です。") == 120


async def test_the_judge_declining_sends_nothing(harness: Harness):
    d, model = harness.discord, harness.model
    mod = d.add_user("mod")
    token = await d.slash(
        mod,
        "observer",
        [{"name": "enable", "type": 1, "options": [{"name": "mode", "type": 3, "value": "auto"}]}],
        manage_guild=True,
    )
    await d.wait_until(lambda: d.interaction_responses.get(token))
    model.push(Reply(json_obj={"respond": False, "model": "chat", "voice": False, "reason": "people chatting"}))
    carol = d.add_user("carol")
    await d.send_as(carol, "anyone watching the match tonight?")
    await harness.settle()
    assert d.bot_messages() == []
    assert len(model.requests) == 1 and "response_format" in model.requests[0], "one judge call, no generation"


async def test_reply_chains_reach_the_model(harness: Harness):
    d, model = harness.discord, harness.model
    dave = d.add_user("dave")
    # Said before the bot was listening: only Discord has it.
    old = d.message_payload(d.general["id"], dave, "my sourdough starter smells like acetone")
    d.messages[d.general["id"]][old["id"]] = old
    erin = d.add_user("erin")
    await d.send_as(erin, f"{harness.mention()} is that normal?", reply_to=old)
    await d.wait_for_bot_message()
    await harness.settle()
    contents = [m["content"] for m in model.requests[-1]["messages"]]
    assert "dave: my sourdough starter smells like acetone" in contents
    assert contents[-1] == "is that normal?", "the member's own words, without a label or the bot's mention"
    assert "erin" in contents[0], "the system prompt names who is asking"

    # Replying to the bot's answer continues the chain.
    answer = d.bot_messages()[-1]
    await d.send_as(erin, "and how do I fix it?", reply_to=answer)
    await d.wait_for_bot_message(
        lambda m: m.get("message_reference", {}).get("message_id") != answer["message_reference"]["message_id"]
    )
    await harness.settle()
    contents = [m["content"] for m in model.requests[-1]["messages"]]
    assert contents[-1] == "and how do I fix it?"
    assert any(m["role"] == "assistant" for m in model.requests[-1]["messages"])


async def test_the_final_text_does_not_wait_for_the_next_edit_slot(
    tmp_path: Path, embedder: Any, fake_openai: FakeOpenAI
):
    """A short answer: one post at the first token, then the final edit as soon as the stream ends; no
    interim edit spends the channel's budget on a few more words (interval far longer than the stream)."""
    async for h in start_harness(tmp_path, embedder, fake_openai, edit_interval_seconds=10.0):
        d = h.discord
        fake_openai.token_delay_s = 0.01  # ~0.2 s of streaming, far inside the 10 s edit interval
        fake_openai.push(Reply(CAT_ANSWER))
        await d.send_as(d.add_user("bea"), f"{h.mention()} a cat name?")
        first = await d.wait_for_bot_message()
        shown = d.messages[d.general["id"]][first["id"]]
        await d.wait_until(lambda shown=shown: "▌" not in shown["content"])
        final = d.messages[d.general["id"]][first["id"]]
        assert final["content"] == CAT_ANSWER
        assert [content for _, content in final.get("_edits", [])] == [CAT_ANSWER], "one edit: the final one"


async def test_edits_and_deletions_update_the_record(harness: Harness):
    d = harness.discord
    frank = d.add_user("frank")
    msg = await d.send_as(frank, "the meeting is at 5")
    await harness.settle()
    await d.edit_as(msg, "the meeting is at 6")
    await harness.settle()
    record = harness.services.record
    assert await record.stored_text(int(msg["id"])) == "the meeting is at 6"
    await d.delete(msg)
    await harness.settle()
    window = await record.window(int(d.general["id"]), 10)
    assert all(line.message_id != int(msg["id"]) for line in window)


async def test_mass_mentions_never_ping(harness: Harness):
    d, model = harness.discord, harness.model
    model.push(Reply("Sure: @everyone and @here, listen up! <@&123> too."))
    gina = d.add_user("gina")
    await d.send_as(gina, f"{harness.mention()} announce it to everyone")
    await d.wait_for_bot_message()
    await harness.settle()
    sent = d.bot_messages()[-1]
    assert sent["allowed_mentions"]["parse"] == []
    assert "@everyone" not in sent["content"] and "<@&123>" not in sent["content"]


async def test_the_gateway_dropping_mid_stream_resumes_and_the_reply_completes(harness: Harness):
    d, model = harness.discord, harness.model
    model.token_delay_s = 0.1
    model.push(Reply(CAT_ANSWER))
    hana = d.add_user("hana")
    await d.send_as(hana, f"{harness.mention()} cat names please")
    first = await d.wait_for_bot_message()
    await d.drop_connection()
    await d.wait_until(lambda: d.resumed >= 1)
    await harness.settle()
    assert d.identifies == 1, "resumed the session instead of identifying again"
    assert d.messages[d.general["id"]][first["id"]]["content"] == CAT_ANSWER
    # An event sent while the socket was down arrives after the resume.
    ivan = d.add_user("ivan")
    later = await d.send_as(ivan, "hi all")
    await harness.settle()
    assert await harness.services.record.stored_text(int(later["id"])) == "hi all"


async def test_a_burst_of_concurrent_streams_never_hits_a_rate_limit(harness: Harness):
    d, model = harness.discord, harness.model
    model.token_delay_s = 0.05
    model.default_reply = " ".join(f"word{i}" for i in range(60))
    channels = [d.general, *[d.add_channel(f"room{i}") for i in range(4)]]
    # New channels need a GUILD_CREATE-like refresh for discord.py's cache.
    await d.dispatch("GUILD_CREATE", d.guild_payload())
    await asyncio.sleep(0.3)
    people = [d.add_user(f"member{i}") for i in range(10)]
    await asyncio.gather(
        *(
            d.send_as(people[i], f"{harness.mention()} tell me something #{i}", channel=channels[i % len(channels)])
            for i in range(10)
        )
    )
    await d.wait_until(lambda: len(d.bot_messages()) >= len(channels))
    await harness.settle()
    assert d.status_429 == 0, "the edit budget keeps every stream under Discord's limits"
    finals = [m["content"] for m in d.bot_messages()]
    assert finals.count(model.default_reply) == 10


async def test_members_asking_at_once_in_one_channel_are_answered_side_by_side(harness: Harness):
    """Nobody waits for someone else's whole answer before the bot starts on theirs."""
    d, model = harness.discord, harness.model
    model.gate = asyncio.Event()  # the model holds every request until both have arrived
    asked = [await d.send_as(d.add_user(name), f"{harness.mention()} a question from {name}") for name in ("ana", "bo")]
    await d.wait_until(lambda: len(model.chat_requests()) == 2)
    model.gate.set()
    await harness.settle()
    answered = {m["message_reference"]["message_id"] for m in d.bot_messages() if m.get("message_reference")}
    assert answered == {m["id"] for m in asked}


async def test_one_members_questions_are_answered_in_order_not_side_by_side(harness: Harness):
    d, model = harness.discord, harness.model
    model.gate = asyncio.Event()
    kim = d.add_user("kim")
    await d.send_as(kim, f"{harness.mention()} first question from kim")
    await d.wait_until(lambda: len(model.chat_requests()) == 1)
    await d.send_as(kim, f"{harness.mention()} kim's second question")
    await d.send_as(d.add_user("lee"), f"{harness.mention()} lee's question")
    await d.wait_until(lambda: len(model.chat_requests()) == 2)  # lee's runs beside kim's first
    await asyncio.sleep(0.5)  # room for a wrong run of kim's second question to reach the model
    model.gate.set()
    await harness.settle()
    asked = [str(r["messages"][-1]["content"]) for r in model.chat_requests()]
    assert [("first question" in a, "lee's" in a, "second question" in a) for a in asked] == [
        (True, False, False),
        (False, True, False),
        (False, False, True),
    ], "kim's second question waited for her first answer"


async def test_a_full_queue_answers_busy_and_loses_nothing(tmp_path: Path, embedder, fake_openai):
    async for h in start_harness(tmp_path, embedder, fake_openai, channel_queue_size=1):
        d = h.discord
        fake_openai.first_token_delay_s = 1.5
        # Three are answered side by side, one waits, the rest hear that the bot is busy.
        people = [d.add_user(f"p{i}") for i in range(h.services.settings.channel_parallel_replies + 3)]
        sent = []
        for person in people:
            sent.append(await d.send_as(person, f"{h.mention()} question from {person['username']}"))
            await asyncio.sleep(0.05)
        await d.wait_until(lambda d=d: any("still working" in m["content"] for m in d.bot_messages()))
        await h.settle()
        await h.bot.busy_notes.drain()
        busy = next(m for m in d.bot_messages() if "still working" in m["content"])
        assert busy["allowed_mentions"].get("replied_user", False) is False
        for msg in sent:
            assert await h.services.record.stored_text(int(msg["id"])) is not None, "every message is recorded"
        result = outcome(d, sent)
        assert result.told_nothing == 0, f"each member got an answer or a busy note: {result.line()}"


async def test_a_long_split_answer_posts_and_edits_inside_the_channel_budget(harness: Harness):
    """Discord counts posts and edits in a channel together (5 per 5 s); the fake does too."""
    d, model = harness.discord, harness.model
    model.token_delay_s = 0.001
    paragraph = " ".join(f"w{i}" for i in range(120))
    model.push(Reply("\n\n".join(f"{n}: {paragraph}" for n in range(14))))  # ~8,000 characters, 5 parts
    await d.send_as(d.add_user("lena"), f"{harness.mention()} write a lot")
    await d.wait_for_bot_message()
    await harness.settle()
    sent = d.bot_messages(d.general)
    assert len(sent) >= 4 and all("▌" not in m["content"] for m in sent)
    assert d.status_429 == 0, "posts of follow-up parts count against the same budget as edits"


async def test_a_burst_of_mentions_in_one_channel_tells_every_member_without_a_429(
    tmp_path: Path, embedder, fake_openai
):
    """30 members mention the bot at once in one channel with a queue of 2: each is answered or told
    busy (several busy members in one note that pings exactly them), and no call to Discord is refused."""
    async for h in start_harness(tmp_path, embedder, fake_openai, channel_queue_size=2):
        d = h.discord
        fake_openai.first_token_delay_s = 1.0
        people = [d.add_user(f"m{i}") for i in range(30)]
        asked = await asyncio.gather(*(d.send_as(p, f"{h.mention()} question from {p['username']}") for p in people))
        await d.wait_until(lambda d=d, asked=asked: everyone_told(d, asked))
        await h.settle()
        await h.bot.busy_notes.drain()
        result = outcome(d, asked)
        assert result.told_nothing == 0, result.line()
        assert result.answered >= h.services.settings.channel_parallel_replies, result.line()
        assert result.told_busy > 0, result.line()
        assert d.status_429 == 0, "every call to Discord in the channel kept to its budget"
        notes = [m for m in d.bot_messages() if len(m["mentions"]) > 1]
        for note in notes:  # a shared note pings exactly the members it names, nobody else
            assert note["allowed_mentions"]["parse"] == []
            assert sorted(str(u) for u in note["allowed_mentions"]["users"]) == sorted(
                u["id"] for u in note["mentions"]
            )
