"""A cast of characters in one channel (issue I) through the whole reply graph: a character named or
replied to speaks with no judge call; otherwise the judge picks who (if anyone); each character knows
only what it witnessed and may speak with its own model."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from agent.ids import stable_id
from agent.memory.persona_files import PersonaCard
from agent.memory.scopes import GLOBAL
from agent.services import Services
from agent.state import Context
from tests.conftest import make_event, make_services, models_toml, reply_graph
from tests.fakes.openai_server import FakeOpenAI, Reply

CHANNEL = "teahouse"
MIKA = PersonaCard("Mika", "Mika keeps the tea shop by the harbour.", talkativeness=0.8)
REN = PersonaCard("Ren", "Ren is the village blacksmith, gruff and honest.", talkativeness=0.3, model="big")


@pytest.fixture
async def scene(tmp_path: Path, database_url: str, embedder: Any, fake_openai: FakeOpenAI) -> AsyncIterator[Services]:
    services = await make_services(tmp_path, database_url, embedder, models_toml(fake_openai.base_url, ("chat", "big")))
    for card in (MIKA, REN):
        await services.personas.save(card, GLOBAL)
    channel_id = stable_id("channel", CHANNEL)
    await services.record.store_event(make_event("(the scene opens)", author="narrator", channel=CHANNEL))
    for card in (MIKA, REN):
        await services.casts.add(channel_id, card.name)
    yield services
    await services.close()


async def say(services: Services, text: str, author: str = "aiko", **event: Any) -> dict[str, Any]:
    message = make_event(text, author=author, channel=CHANNEL, **event)
    return dict(await reply_graph(services).ainvoke({"event": message}, context=Context(bot_name="Observer")))


def system_of(request: dict[str, Any]) -> str:
    return str(request["messages"][0]["content"])


async def test_a_named_character_answers_with_no_judge_call(scene: Services, fake_openai: FakeOpenAI) -> None:
    fake_openai.push(Reply("Three silver for a good blade."))
    before = len(fake_openai.chat_requests())
    state = await say(scene, "Ren, how much for a sword?")
    [request] = fake_openai.chat_requests()[before:]
    assert state["decision"].speaker == "Ren" and state["decision"].source == "rule"
    assert "blacksmith" in system_of(request) and "Write only Ren's next message" in system_of(request)
    assert request["model"] == "fake-big", "Ren's card names its own model"
    lines = await scene.record.window(stable_id("channel", CHANNEL), 5)
    assert (lines[-1].author, lines[-1].is_bot) == ("Ren", True), "stored under the character's name"


async def test_a_reply_to_a_character_goes_to_that_character(scene: Services, fake_openai: FakeOpenAI) -> None:
    fake_openai.push(Reply("Welcome in!"))
    first = await say(scene, "Mika, hello!")
    fake_openai.push(Reply("Of course, I'll brew another pot."))
    before = len(fake_openai.chat_requests())
    state = await say(scene, "could I have more?", reply_to_id=first["reply_message_id"])
    assert state["decision"].speaker == "Mika" and len(fake_openai.chat_requests()) == before + 1


async def test_the_judge_picks_who_speaks_and_may_pick_nobody(scene: Services, fake_openai: FakeOpenAI) -> None:
    fake_openai.push(Reply(json_obj={"speaker": "Mika", "reason": "she runs the shop"}), Reply("Tea's ready!"))
    before = len(fake_openai.chat_requests())
    state = await say(scene, "is anyone serving here?")
    judge, answer = fake_openai.chat_requests()[before:]
    assert (
        "Mika: talkativeness 0.8" in judge["messages"][-1]["content"]
        and "Ren: talkativeness 0.3" in (judge["messages"][-1]["content"])
    )
    assert state["decision"].speaker == "Mika" and state["decision"].source == "judge"
    assert state["persona"] == "Mika" and "tea shop" in system_of(answer)
    assert [c.name for c in state["cast"]] == ["Mika", "Ren"], "Studio shows the candidates"

    fake_openai.push(Reply(json_obj={"speaker": "none", "reason": "members chatting"}))
    before = len(fake_openai.chat_requests())
    state = await say(scene, "brb, getting snacks", author="kenji")
    assert not state["decision"].respond and not state.get("reply")
    assert len(fake_openai.chat_requests()) == before + 1, "the judge only: nobody speaks"


async def test_a_character_knows_only_what_it_witnessed(scene: Services, fake_openai: FakeOpenAI) -> None:
    channel_id = stable_id("channel", CHANNEL)
    await scene.casts.remove(channel_id, "Ren")
    fake_openai.push(Reply("Noted."))
    await say(scene, "Mika, the secret password is 'plum blossom'.")
    await scene.casts.add(channel_id, "Ren")
    fake_openai.push(Reply("Hm."))
    before = len(fake_openai.chat_requests())
    await say(scene, "Ren, what's the password?")
    [request] = fake_openai.chat_requests()[before:]
    seen = " ".join(str(m["content"]) for m in request["messages"])
    assert "plum blossom" not in seen, "said before Ren joined the cast"
    fake_openai.push(Reply("Plum blossom."))
    before = len(fake_openai.chat_requests())
    await say(scene, "Mika, remind me of the password?")
    [request] = fake_openai.chat_requests()[before:]
    assert "plum blossom" in " ".join(str(m["content"]) for m in request["messages"]), "Mika was there"
    roles = [(m["role"], str(m["content"])[:10]) for m in request["messages"][1:]]
    assert ("user", "Ren: Hm.") in roles, "another character's line reads like a member's"


async def test_other_bots_only_where_allowed_and_never_in_an_endless_loop(
    scene: Services, fake_openai: FakeOpenAI
) -> None:
    channel_id = stable_id("channel", CHANNEL)
    bard = {"author": "Bard", "author_is_bot": True}
    state = await say(scene, "Ren, sing along with me!", **bard)
    assert not state["decision"].respond, "other bots are ignored by default"

    await scene.record.update_channel_settings(channel_id, allow_bots=True)
    fake_openai.push(Reply("I don't sing."))
    state = await say(scene, "Ren, sing along with me!", **bard)
    assert state["decision"].speaker == "Ren"
    # Bard answers again, and again: after OBSERVER_CAST_CHAIN_TURNS (2) bot lines in a row, nobody does.
    state = await say(scene, "Ren, come on, one verse!", **bard)
    assert not state["decision"].respond and "in a row" in state["decision"].reason
    fake_openai.push(Reply(json_obj={"speaker": "none", "reason": "laughter"}))
    await say(scene, "haha", author="aiko")
    state = await say(scene, "Ren, now?", **bard)
    assert state["decision"].speaker == "Ren", "a member spoke in between: the count starts again"
