"""/persona add takes SillyTavern World Info for the server or one channel, and lenient cards with
their warnings, through the real discord.py client against the fake Discord."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import Harness
from tests.e2e.test_voice_and_personas import answer
from tests.fakes.openai_server import Reply

ELDORIA = Path(__file__).resolve().parents[1] / "data" / "world_info" / "eldoria.json"


def add(attachment: dict[str, object], where: str | None = None) -> list[dict[str, object]]:
    options: list[dict[str, object]] = [{"name": "file", "type": 11, "value": attachment["id"]}]
    if where:
        options.append({"name": "where", "type": 3, "value": where})
    return [{"name": "add", "type": 1, "options": options}]


async def test_world_info_for_one_channel_and_a_lenient_card(harness: Harness):
    d, model = harness.discord, harness.model
    admin, member = d.add_user("admin"), d.add_user("member")
    book = d.attachment("Eldoria.json", ELDORIA.read_bytes(), content_type="application/json")
    token = await d.slash(admin, "persona", add(book, "channel"), attachments=[book], manage_guild=True)
    said = await answer(harness, token)
    assert "Added Eldoria.json" in said and "1 World Info books" in said

    card = {
        "spec": "chara_card_v2",
        "data": {"name": "Sera", "description": "A healer.", "extensions": {"talkativeness": ""}},
    }
    upload = d.attachment("sera.json", json.dumps(card).encode(), content_type="application/json")
    token = await d.slash(admin, "persona", add(upload), attachments=[upload], manage_guild=True)
    said = await answer(harness, token)
    assert "Added sera.json" in said and "personas Sera" in said
    assert "discord:sera.json: extensions.talkativeness: '' is not a number from 0 to 1; using 0.5" in said

    model.push(Reply("Eldoria is old."))
    await d.send_as(member, f"{harness.mention()} what is Eldoria?")
    await d.wait_for_bot_message()
    await harness.settle()
    system = model.requests[-1]["messages"][0]["content"]
    assert "Eldoria is an ancient kingdom of rolling hills" in system and "member arrived there only recently" in system
