"""Slash commands through the real discord.py CommandTree: effects, permissions, bad arguments."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import Harness
from tests.fakes.openai_server import Reply


def sub(command: str, /, **options: Any) -> list[dict[str, Any]]:
    kinds = {bool: 5, int: 4, str: 3, float: 10}
    return [
        {
            "name": command,
            "type": 1,
            "options": [{"name": k, "type": kinds[type(v)], "value": v} for k, v in options.items()],
        }
    ]


async def answer(h: Harness, token: str) -> str:
    """The first visible text of an interaction's response (message, edit or follow-up)."""
    await h.discord.wait_until(lambda: h.discord.interaction_responses.get(token))
    await h.settle()
    for item in h.discord.interaction_responses[token]:
        body = item.get("data") or item.get("edit") or item.get("followup") or {}
        if body.get("content"):
            return str(body["content"])
    return ""


def final_edit(d: Any, token: str) -> bool:
    edits = [r["edit"]["content"] for r in d.interaction_responses.get(token, []) if "edit" in r]
    return bool(edits) and not edits[-1].endswith("▌")


def ephemeral(h: Harness, token: str) -> bool:
    first = h.discord.interaction_responses[token][0]
    return bool((first.get("data") or {}).get("flags", 0) & 64)


async def test_settings_need_manage_server(harness: Harness):
    d = harness.discord
    member, admin = d.add_user("member"), d.add_user("admin")
    channel_id = int(d.general["id"])
    token = await d.slash(member, "observer", sub("enable", mode="auto"))
    assert await answer(harness, token) == (
        "You need the Manage Server permission (or one of Observer's admin roles) to change its settings."
    )
    assert ephemeral(harness, token)
    assert await harness.services.record.channel_mode(channel_id) == "mentions"

    token = await d.slash(admin, "observer", sub("enable", mode="auto"), manage_guild=True)
    assert await answer(harness, token) == "Observer is on in #general (auto mode)."
    assert await harness.services.record.channel_mode(channel_id) == "auto"
    token = await d.slash(admin, "observer", sub("read", enabled=True), manage_guild=True)
    assert "observing silently" in await answer(harness, token)
    assert await harness.services.record.channel_mode(channel_id) == "observe"
    token = await d.slash(admin, "observer", sub("disable"), manage_guild=True)
    await answer(harness, token)
    assert await harness.services.record.channel_mode(channel_id) == "off"
    # Off: a mention is recorded but not answered.
    asked = await d.send_as(member, f"{harness.mention()} hello?")
    await harness.settle()
    assert d.bot_messages() == [] and await harness.services.record.stored_text(int(asked["id"])) is not None


async def test_status_history_and_reset(harness: Harness):
    d = harness.discord
    jo = d.add_user("jo")
    await d.send_as(jo, "first thing I said")
    await d.send_as(jo, f"{harness.mention()} second thing")
    await harness.settle()
    token = await d.slash(jo, "observer", sub("status"))
    status = await answer(harness, token)
    assert "mode: mentions" in status and "model: chat" in status and "queue: 0 waiting" in status
    token = await d.slash(jo, "observer", sub("history", count=5))
    history = await answer(harness, token)
    assert "**jo**: first thing I said" in history and "**Observer**:" in history and ephemeral(harness, token)

    token = await d.slash(jo, "observer", sub("reset"))
    assert "Manage Server" in await answer(harness, token)
    admin = d.add_user("admin")
    token = await d.slash(admin, "observer", sub("reset"), manage_guild=True)
    assert "Forgot the conversation" in await answer(harness, token)
    await d.send_as(jo, f"{harness.mention()} what did I say before?")
    await harness.settle()
    sent = [m["content"] for m in harness.model.requests[-1]["messages"]]
    assert not any("first thing I said" in c for c in sent), "the reset window is out of the model's view"
    assert await harness.services.record.count_messages(int(d.general["id"])) >= 4, "but the record keeps it"


async def test_collect_backfills_history(harness: Harness):
    d = harness.discord
    old_timer = d.add_user("old_timer")
    for i in range(30):
        msg = d.message_payload(d.general["id"], old_timer, f"old message {i}")
        d.messages[d.general["id"]][msg["id"]] = msg
    admin = d.add_user("admin")
    token = await d.slash(admin, "observer", sub("collect", limit=100), manage_guild=True)
    await d.wait_until(lambda: any("Collected" in str(r) for r in d.interaction_responses.get(token, [])))
    assert any("Collected 30 messages" in str(r) for r in d.interaction_responses[token])
    lines = await harness.services.record.window(int(d.general["id"]), 50)
    assert [line.text for line in lines][:3] == ["old message 0", "old message 1", "old message 2"]


async def test_chat_streams_into_the_interaction_with_the_members_privacy(harness: Harness):
    d, model = harness.discord, harness.model
    kim = d.add_user("kim")
    model.push(Reply("Tea: oolong in the afternoon."))
    token = await d.slash(kim, "chat", [{"name": "prompt", "type": 3, "value": "which tea?"}])
    await d.wait_until(lambda: final_edit(d, token))
    responses = d.interaction_responses[token]
    assert responses[0]["type"] == 5 and responses[0]["data"]["flags"] & 64, "private by default: ephemeral"
    assert responses[-1]["edit"]["content"] == "Tea: oolong in the afternoon."
    assert model.requests[-1]["messages"][-1]["content"] == "which tea?"

    token = await d.slash(kim, "privacy", sub("set", mode="public"))
    assert "to everyone" in await answer(harness, token)
    token = await d.slash(kim, "chat", [{"name": "prompt", "type": 3, "value": "and coffee?"}])
    await d.wait_until(lambda: final_edit(d, token))
    assert not (d.interaction_responses[token][0].get("data") or {}).get("flags", 0) & 64, "public: visible"


async def test_a_private_chat_stays_out_of_other_members_answers_and_the_channels_window(harness: Harness):
    """A private /chat is seen by its member alone; another member's answer in that channel used to read
    it in its context (and could repeat it), as did the window summaries read."""
    d, model = harness.discord, harness.model
    kim, bob = d.add_user("kim"), d.add_user("bob")
    model.push(Reply("Noted."))
    token = await d.slash(kim, "chat", [{"name": "prompt", "type": 3, "value": "my door code is 4321, remember it"}])
    await d.wait_until(lambda: final_edit(d, token))
    assert ephemeral(harness, token)
    model.push(Reply("No idea."))
    await d.send_as(bob, f"{harness.mention()} what is kim's door code?")
    await harness.settle()
    asked = " ".join(str(m["content"]) for m in model.requests[-1]["messages"])
    assert "door code" in asked and "4321" not in asked and "Noted." not in asked
    window = await harness.services.record.window(int(d.general["id"]), 50)
    assert not any("4321" in line.text or line.text == "Noted." for line in window)

    token = await d.slash(kim, "privacy", sub("set", mode="public"))
    await answer(harness, token)
    model.push(Reply("Shared."))
    token = await d.slash(kim, "chat", [{"name": "prompt", "type": 3, "value": "the meeting is at 5"}])
    await d.wait_until(lambda: final_edit(d, token))
    window = await harness.services.record.window(int(d.general["id"]), 50)
    assert any(line.text == "the meeting is at 5" for line in window), "a public /chat is the channel's"


async def test_ping_health_feedback_and_correct(harness: Harness):
    d = harness.discord
    lee = d.add_user("lee")
    assert (await answer(harness, await d.slash(lee, "ping"))).startswith("pong")
    health = await answer(harness, await d.slash(lee, "health"))
    assert "uptime:" in health and "guilds: 1" in health and "models: chat" in health and "discord.py" in health

    asked = await d.send_as(lee, f"{harness.mention()} capital of Australia?")
    await harness.settle()
    answer_msg = d.bot_messages()[-1]
    assert answer_msg["message_reference"]["message_id"] == asked["id"]
    token = await d.slash(lee, "feedback", [{"name": "text", "type": 3, "value": "too vague"}])
    assert await answer(harness, token) == "Thanks, noted."
    link = f"https://discord.com/channels/{d.guild_id}/{d.general['id']}/{answer_msg['id']}"
    token = await d.slash(
        lee,
        "correct",
        [{"name": "message", "type": 3, "value": link}, {"name": "text", "type": 3, "value": "It is Canberra."}],
    )
    assert "correction" in await answer(harness, token)
    rows = await harness.services.record.feedback_rows()
    assert [(r["kind"], r["text"], r["message_id"]) for r in rows] == [
        ("feedback", "too vague", int(answer_msg["id"])),
        ("correction", "It is Canberra.", int(answer_msg["id"])),
    ]
    token = await d.slash(
        lee,
        "correct",
        [{"name": "message", "type": 3, "value": "not a link"}, {"name": "text", "type": 3, "value": "x"}],
    )
    assert "id or link" in await answer(harness, token)
    token = await d.slash(
        lee,
        "correct",
        [{"name": "message", "type": 3, "value": asked["id"]}, {"name": "text", "type": 3, "value": "x"}],
    )
    assert "not one of my answers" in await answer(harness, token)


async def test_model_list_set_and_usage(harness: Harness):
    d, model = harness.discord, harness.model
    member, admin = d.add_user("member"), d.add_user("admin")
    listing = await answer(harness, await d.slash(member, "model", sub("list")))
    assert listing.startswith("**chat**: model chat (context 16384")
    token = await d.slash(member, "model", sub("set", name="chat"))
    assert "Manage Server" in await answer(harness, token)
    token = await d.slash(admin, "model", sub("set", name="nope"), manage_guild=True)
    assert "No model called 'nope'" in await answer(harness, token)
    token = await d.slash(
        admin,
        "model",
        [
            {
                "name": "set",
                "type": 1,
                "options": [
                    {"name": "name", "type": 3, "value": "chat"},
                    {"name": "temperature", "type": 10, "value": 0.2},
                ],
            }
        ],
        manage_guild=True,
    )
    assert await answer(harness, token) == "In #general, chat answers at temperature 0.2."
    await d.send_as(member, f"{harness.mention()} hi")
    await harness.settle()
    assert model.requests[-1]["temperature"] == 0.2

    await harness.services.router.cooldowns.cool("chat", retry_after=30, reason="rate limited (HTTP 429)")
    status = await answer(harness, await d.slash(member, "observer", sub("status")))
    assert "model: chat (pinned here)" in status and "cooling down: chat for" in status
    usage = await answer(harness, await d.slash(member, "observer", sub("usage")))
    assert usage.startswith("**Your usage here**") and "replies in the last hour: 1" in usage
    usage = await answer(harness, await d.slash(member, "observer", sub("usage", scope="server")))
    assert "Manage Server permission" in usage, "the server's totals are for admins"
    usage = await answer(harness, await d.slash(d.owner, "observer", sub("usage")))
    assert usage.startswith("**today**: $") and "- chat: 1 calls" in usage and "**this month**" in usage


async def test_chat_model_choice_only_where_allowed(harness: Harness):
    d = harness.discord
    kim = d.add_user("kim")
    token = await d.slash(
        kim, "chat", [{"name": "prompt", "type": 3, "value": "hi"}, {"name": "model", "type": 3, "value": "chat"}]
    )
    assert await answer(harness, token) == "This server does not let members choose the model."
