"""Several characters in one channel (issue I) through the real discord.py client against the fake Discord
with webhook routes: each character speaks through its own webhook (name, card picture), streamed by
edits; named, replied-to and judge-chosen speakers; a bounded chain; the missing-permission fallback."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from agent.memory.persona_files import card_from_png
from agent.memory.scopes import GLOBAL
from tests.e2e.conftest import Harness
from tests.e2e.test_access import group
from tests.e2e.test_slash_commands import answer
from tests.fakes.documents import png_card
from tests.fakes.openai_server import Reply

MIKA_CARD = {
    "spec": "chara_card_v2",
    "data": {
        "name": "Mika",
        "description": "Mika keeps the tea shop by the harbour.",
        "extensions": {"talkativeness": "0.8"},
    },
}
REN_CARD = {"name": "Ren", "description": "Ren is the village blacksmith.", "talkativeness": 0.2}


async def open_scene(h: Harness, channel: dict[str, Any] | None = None) -> dict[str, Any]:
    """Mika (a PNG card) and Ren in the cast of `channel` (default #general), added by an admin."""
    d = h.discord
    for blob in (png_card(MIKA_CARD), png_card(REN_CARD)):
        await h.services.personas.save(card_from_png(blob, Path("card.png")), GLOBAL)
    admin = d.add_user("admin")
    for name in ("Mika", "Ren"):
        token = await d.slash(admin, "persona", group("cast", "add", name=name), channel=channel, manage_guild=True)
        assert f"{name} joined the cast" in await answer(h, token)
    return admin


def by(h: Harness, name: str) -> list[dict[str, Any]]:
    return [m for m in h.discord.webhook_messages() if m["author"]["username"] == name]


async def test_named_and_replied_to_characters_speak_through_their_own_webhooks(harness: Harness) -> None:
    h, d = harness, harness.discord
    await open_scene(h)
    h.model.default_reply = "Three silver coins for a fine blade, and it will outlast you."
    member = d.add_user("aiko")
    token = await d.slash(member, "persona", group("cast", "add", name="Ren"))
    assert "Manage Server permission" in await answer(h, token), "members cannot change the cast"

    await d.send_as(member, "Ren, how much for a sword?")
    await h.settle()
    [ren] = by(h, "Ren")
    assert ren["content"] == h.model.default_reply and not d.bot_messages(), "as Ren, not as the bot"
    assert len(ren["_shown"]) >= 2, "streamed: posted, then edited"
    [hook] = [w for w in d.webhooks.values() if w["name"] == "Ren"]
    mika_hook_avatar = None

    h.model.default_reply = "Jasmine today, dear."
    await d.send_as(member, "Mika, what tea is there today?")
    await h.settle()
    [mika] = by(h, "Mika")
    mika_hook_avatar = next(w for w in d.webhooks.values() if w["name"] == "Mika")["_avatar_data"]
    assert mika_hook_avatar.startswith("data:image/png;base64,")
    assert base64.b64decode(mika_hook_avatar.split(",", 1)[1]).startswith(b"\x89PNG"), "the card's picture"
    assert hook["_avatar_data"].startswith("data:image/png"), "Ren's card is a PNG too"

    calls = len(h.model.chat_requests())
    h.model.default_reply = "Another pot coming right up."
    await d.send_as(member, "more please", reply_to=mika)
    await h.settle()
    assert [m["content"] for m in by(h, "Mika")][-1] == "Another pot coming right up."
    first = h.model.chat_requests()[calls]
    assert "response_format" not in first and "tea shop" in first["messages"][0]["content"], "no judge call first"
    assert len(d.webhooks) == 2, "one webhook per character, reused"

    token = await d.slash(member, "persona", group("cast", "list"))
    assert "- Mika" in await answer(h, token)
    admin = d.add_user("admin2")
    use = [
        {
            "name": "use",
            "type": 1,
            "options": [{"name": "name", "type": 3, "value": "Mika"}, {"name": "model", "type": 3, "value": "chat"}],
        }
    ]
    token = await d.slash(admin, "persona", use, manage_guild=True)
    assert await answer(h, token) == "Mika speaks with chat in this channel."
    token = await d.slash(member, "persona", group("cast", "list"))
    assert "- Mika (model chat)" in await answer(h, token)


async def test_the_judge_picks_the_speaker_and_the_chain_is_bounded(harness: Harness) -> None:
    h, d = harness, harness.discord
    await open_scene(h)

    def responder(body: dict[str, Any]) -> Reply | None:
        fmt = (body.get("response_format") or {}).get("json_schema") or {}
        if fmt.get("name") != "NextSpeaker":
            return Reply("A line of the scene.")
        # Always someone: the first candidate offered (never the one who just spoke: it is not offered).
        # Only the chain bound can stop them.
        prompt = body["messages"][-1]["content"]
        first = next(line[2:].split(":")[0] for line in prompt.splitlines() if line.startswith("- "))
        return Reply(json_obj={"speaker": first, "reason": "r"})

    h.model.responder = responder
    await d.send_as(d.add_user("kenji"), "what a quiet evening at the harbour")
    await h.settle()
    lines = [m["author"]["username"] for m in d.webhook_messages()]
    assert lines == ["Mika", "Ren", "Mika"], "the member's message, then two character turns (the bound)"
    assert not d.bot_messages()


async def test_without_manage_webhooks_characters_speak_through_the_bot(harness: Harness) -> None:
    h, d = harness, harness.discord
    d.webhooks_allowed = False
    await open_scene(h)
    h.model.default_reply = "Sure thing."
    member = d.add_user("aiko")
    for text in ("Ren, can you fix my pot?", "Ren, and my kettle?"):
        await d.send_as(member, text)
        await h.settle()
    texts = [m["content"] for m in d.bot_messages()]
    assert sum("Manage Webhooks" in t for t in texts) == 1, "explained once"
    assert texts.count("**Ren**: Sure thing.") == 2 and not d.webhook_messages()


async def test_characters_answer_other_bots_only_when_allowed(harness: Harness) -> None:
    h, d = harness, harness.discord
    admin = await open_scene(h)
    h.model.default_reply = "I don't sing."
    bard = d.add_user("bard", bot=True)
    await d.send_as(bard, "Ren, sing along!")
    await h.settle()
    assert not d.webhook_messages(), "ignored by default"
    token = await d.slash(admin, "persona", group("cast", "bots", enabled=True), manage_guild=True)
    assert "answer other bots too" in await answer(h, token)
    await d.send_as(bard, "Ren, sing along!")
    await h.settle()
    assert [m["content"] for m in by(h, "Ren")] == ["I don't sing."]
