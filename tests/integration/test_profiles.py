"""Member profiles: the profile graph, its background refresh, and how replies use it."""

from __future__ import annotations

from pathlib import Path

from agent.state import Context
from graphs.profile import build as build_profile_graph
from tests.conftest import make_event, make_services, models_toml, run_graph
from tests.fakes.openai_server import FakeOpenAI, Reply

PROFILE = {
    "tone": "playful",
    "interests": "cats and board games",
    "language": "Japanese",
    "answer_style": "short, with an example",
    "temperature": 0.9,
}


async def test_the_profile_graph_reads_a_members_messages_and_saves_a_profile(services, fake_openai: FakeOpenAI):
    for text in ("猫が大好き！", "ボードゲームしよう", "lol that was fun"):
        await services.record.store_event(make_event(text, author="yuki"))
    await services.record.store_event(make_event("unrelated", author="other"))
    fake_openai.push(Reply(json_obj=PROFILE))
    event = make_event("x", author="yuki")
    state = await build_profile_graph(services).ainvoke(
        {"user_id": event.author_id, "guild_id": event.guild_id, "member": "yuki"}
    )
    assert state["messages"] == ["猫が大好き！", "ボードゲームしよう", "lol that was fun"]
    prompt = fake_openai.requests[-1]["messages"][0]["content"]
    assert "- 猫が大好き！" in prompt and "unrelated" not in prompt
    saved = await services.record.profile(event.author_id, event.guild_id)
    assert saved is not None and "playful" in saved["profile"] and saved["language"] == "Japanese"
    assert saved["temperature"] == 0.9


async def test_no_messages_no_profile(services, fake_openai: FakeOpenAI):
    state = await build_profile_graph(services).ainvoke({"user_id": 424242, "guild_id": 1, "member": "ghost"})
    assert state["error"] == "no messages from this member yet" and fake_openai.requests == []


async def test_profiles_refresh_in_the_background_and_shape_replies(
    tmp_path: Path, database_url: str, embedder, fake_openai: FakeOpenAI
):
    svc = await make_services(tmp_path, database_url, embedder, models_toml(fake_openai.base_url), profile_every_n=3)
    try:
        for text in ("hello", "I love cats", "what a game"):
            _, state = await run_graph(svc, make_event(text, author="mika"))
            assert not state.get("reply")
        await svc.profiles.drain()
        member = make_event("x", author="mika")
        assert await svc.record.profile(member.author_id, member.guild_id) is None, (
            "no refresh for members who have not talked to the bot"
        )
        # Mika asks the bot something: the refresh starts in the background, the reply does not wait.
        # The refresh and the reply reach the server in either order: answer by the request's kind.
        fake_openai.responder = lambda body: (
            Reply(json_obj=PROFILE) if "response_format" in body else Reply("Cats sleep a lot.")
        )
        _, state = await run_graph(svc, make_event("@Observer do cats sleep much?", author="mika", mentions_bot=True))
        assert state["reply"] == "Cats sleep a lot."
        await svc.profiles.drain()
        assert (await svc.record.profile(member.author_id, member.guild_id))["temperature"] == 0.9

        _, state = await run_graph(svc, make_event("@Observer any cat facts?", author="mika", mentions_bot=True))
        request = fake_openai.requests[-1]
        assert "likes answers that are short, with an example" in request["messages"][0]["content"]
        assert request["temperature"] == 0.9, "the profile adapts the sampling temperature"

        # Another guild knows nothing of mika's profile here.
        other = make_event("@Observer hi", author="mika", mentions_bot=True, guild_id=999, channel="elsewhere")
        await run_graph(svc, other, Context())
        system = fake_openai.requests[-1]["messages"][0]["content"]
        assert "likes answers" not in system and "What you know about mika" not in system
    finally:
        await svc.close()
