"""Discord message links in a member's message (issue N), through the real discord.py client against the
fake Discord: what the member may read is brought into the prompt, from the record or from Discord;
what they may not read, what no longer exists and what is in another server stays out, in one short line.
And a reply to a message beyond the channel's window still brings that message."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Harness, start_harness
from tests.fakes.openai_server import FakeOpenAI, Reply

ANSWER = "Got it."
SECRET = "swordfish"
HIDDEN_NAME = "vault-7x"  # a channel name the asking member must never read


def link(d: Any, msg: dict[str, Any], guild: str | None = None, host: str = "discord.com") -> str:
    return f"https://{host}/channels/{guild or d.guild_id}/{msg['channel_id']}/{msg['id']}"


def only_on_discord(d: Any, channel: dict[str, Any], author: dict[str, Any], text: str, **extra: Any) -> dict[str, Any]:
    """A message said before the bot was listening: Discord has it, the record does not."""
    msg = d.message_payload(channel["id"], author, text, **extra)
    d.messages[channel["id"]][msg["id"]] = msg
    return msg


def question_sent(h: Harness) -> str:
    """The member's message as the model read it (the last one of the last request)."""
    return str(h.model.requests[-1]["messages"][-1]["content"])


async def ask(h: Harness, who: dict[str, Any], text: str, reply_to: dict[str, Any] | None = None) -> str:
    """Ask the bot, wait for its answer; the member's message as the model read it."""
    d = h.discord
    h.model.push(Reply(ANSWER))
    asked = await d.send_as(who, f"{h.mention()} {text}", reply_to=reply_to)
    await d.wait_for_bot_message(lambda m: (m.get("message_reference") or {}).get("message_id") == asked["id"])
    await h.settle()
    return question_sent(h)


async def test_links_the_member_can_read_reach_the_model(harness: Harness):
    h, d = harness, harness.discord
    dave, erin = d.add_user("dave"), d.add_user("erin")
    plans = d.add_channel("plans")
    await d.refresh_guild()
    notes = d.attachment("notes.txt", b"bring the blue lanterns", content_type="text/plain")
    # Only on Discord, in another channel of the server, with a text file.
    old = only_on_discord(d, plans, dave, "we meet at the north gate at 7", attachments=[notes])
    # In the record (said while the bot listened).
    said = await d.send_as(dave, "the password for the wifi is on the fridge")
    await h.settle()
    text = await ask(h, erin, f"what do these say? {link(d, old, host='canary.discord.com')} and <{link(d, said)}>")

    assert text.startswith("what do these say?")
    assert "[link 1: a message by dave in #plans, " in text
    assert "we meet at the north gate at 7" in text
    assert "[attachment: notes.txt]\nbring the blue lanterns\n[end of notes.txt]" in text, "its text file is read"
    assert "[link 2: a message by dave in #general, " in text
    assert "the password for the wifi is on the fridge" in text
    fetched = [r.path for r in d.calls("GET") if "/messages/" in r.path]
    assert f"channels/{plans['id']}/messages/{old['id']}" in fetched, "not recorded: fetched from Discord"
    assert f"channels/{d.general['id']}/messages/{said['id']}" not in fetched, "recorded: read from the record"


async def test_links_the_member_cannot_read_stay_out(harness: Harness):
    h, d = harness, harness.discord
    alice, bob, carol = d.add_user("alice"), d.add_user("bob"), d.add_user("carol")
    staff = d.add_role("staff")
    d.give_role(bob, staff)
    vault = d.add_channel(HIDDEN_NAME)
    d.hide(vault, but_for=staff)
    sealed = d.add_channel("sealed")  # the member may read it; the bot may not
    d.closed_to_bot.add(sealed["id"])
    elsewhere = d.add_guild("Other Guild")
    foreign = d.add_channel("foreign", guild=elsewhere)
    await d.refresh_guild()
    recorded = await d.send_as(bob, f"the vault password is {SECRET}", channel=vault)
    unrecorded = only_on_discord(d, vault, bob, f"the backup password is {SECRET}2")
    sealed_msg = only_on_discord(d, sealed, bob, "sealed words")
    foreign_msg = only_on_discord(d, foreign, carol, "words from elsewhere")
    gone = await d.send_as(carol, "this will be deleted")
    never = {"channel_id": d.general["id"], "id": str(int(gone["id"]) + 12345)}
    await h.settle()  # recorded, then deleted
    await d.delete(gone)
    await h.settle()

    links = [
        link(d, recorded),
        link(d, unrecorded),
        link(d, gone),
        link(d, never),
        link(d, foreign_msg, guild=elsewhere),
        link(d, sealed_msg),
        link(d, {"channel_id": "123456789012345678", "id": "123456789012345679"}),  # no such channel
    ]
    text = await ask(h, alice, "what is in these? " + " ".join(links))

    assert "[link 1: a message I could not read]" in text
    assert "[link 2: a message I could not read]" in text
    assert "[link 3: a message that no longer exists]" in text, "deleted: the record knows"
    assert "[4 more message links not read]" in text, "at most OBSERVER_LINKED_MESSAGES (3) are read"
    everything = json.dumps(h.model.requests)
    assert SECRET not in everything and HIDDEN_NAME not in everything, "no word of a channel alice cannot see"
    fetched = [r.path for r in d.calls("GET") if "/messages/" in r.path]
    assert not any(vault["id"] in path for path in fetched), "never fetched for a member who cannot read it"

    # The rest, in a second message: not found on Discord, another server, the bot refused, no such channel.
    text = await ask(h, alice, "and these? " + " ".join(links[3:]))
    assert "[link 1: a message that no longer exists]" in text, "deleted: Discord answers 404"
    assert "[link 2: a message in another server (not read)]" in text
    assert "[link 3: a message I could not read]" in text, "the bot was refused (403)"
    assert "sealed words" not in text and "words from elsewhere" not in text
    assert "[1 more message link not read]" in text
    fetched = [r.path for r in d.calls("GET") if "/messages/" in r.path]
    assert not any(foreign["id"] in path for path in fetched), "another server's channel is never asked for"

    # Bob holds the role that may read the vault: the same link brings the message to him.
    text = await ask(h, bob, f"remind me? {link(d, recorded)}")
    assert f"[link 1: a message by bob in #{HIDDEN_NAME}, " in text and f"the vault password is {SECRET}" in text


async def test_a_reply_beyond_the_window_brings_the_message(tmp_path: Path, embedder: Any, fake_openai: FakeOpenAI):
    """A reply to a message older than the channel's window (the record holds it; the window shows only
    the last two) and to one the record never held (fetched from Discord): both reach the model."""
    async for h in start_harness(tmp_path, embedder, fake_openai, history_limit=2):
        d = h.discord
        dave, erin = d.add_user("dave"), d.add_user("erin")
        old = await d.send_as(dave, "the blue door is the storage room")
        for i in range(4):
            await d.send_as(dave, f"chatter {i}")
        await h.settle()
        await ask(h, erin, "which one?", reply_to=old)
        contents = [m["content"] for m in fake_openai.requests[-1]["messages"]]
        assert "dave: the blue door is the storage room" in contents
        assert "dave: chatter 0" not in contents, "the window itself holds only the last two"
        assert not d.calls("GET", f"messages/{old['id']}"), "in the record: no need to ask Discord"

        unseen = only_on_discord(d, d.general, dave, "the red door is the boiler room")
        await ask(h, erin, "and that one?", reply_to=unseen)
        contents = [m["content"] for m in fake_openai.requests[-1]["messages"]]
        assert "dave: the red door is the boiler room" in contents


async def test_chat_reads_the_links_in_its_prompt_as_the_member_may(harness: Harness):
    """/chat's prompt brings the messages it links to, as a message does: what the member may read, and
    for a hidden channel one line that names nothing."""
    from tests.e2e.test_slash_commands import final_edit

    h, d = harness, harness.discord
    alice, bob = d.add_user("alice"), d.add_user("bob")
    staff = d.add_role("staff")
    d.give_role(bob, staff)
    vault = d.add_channel(HIDDEN_NAME)
    d.hide(vault, but_for=staff)
    await d.refresh_guild()
    plans = await d.send_as(bob, "the picnic is on Saturday at the lake")
    secret = await d.send_as(bob, f"the vault password is {SECRET}", channel=vault)
    await h.settle()
    h.model.push(Reply(ANSWER))
    prompt = f"what does this say? {link(d, plans)} and {link(d, secret)}"
    token = await d.slash(alice, "chat", [{"name": "prompt", "type": 3, "value": prompt}])
    await d.wait_until(lambda: final_edit(d, token))
    sent = question_sent(h)
    assert "the picnic is on Saturday at the lake" in sent
    assert SECRET not in sent and HIDDEN_NAME not in sent and "a message I could not read" in sent
