"""A voice request answered with text that has nothing to say aloud (`...`, `…`, `(^_^)`, emoji, a
code block): the reply goes out as text only, the reason is logged, and the next voice request is
spoken as before. Through the reply graph, the console, `observer voice say`, and the voice-channel
speech stream."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.services import Services
from agent.voice.playback import SILENCE, SpeechStream
from tests.conftest import make_event, models_toml, run_graph
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.integration.test_cli import observer

NOTHING = ["...", "…", "(^_^)", "😀🎉👍🏽", "```bash\nls -la\n```"]


async def test_a_voice_request_answered_with_no_sounds_gets_text_only(
    services: Services, fake_openai: FakeOpenAI, caplog: pytest.LogCaptureFixture
):
    caplog.set_level("INFO", logger="agent.nodes.speak")
    for i, answer in enumerate(NOTHING):
        fake_openai.push(Reply(answer))
        # One member and channel each: many questions in a few seconds are a flood.
        event = make_event("@Observer say it out loud: how do you feel?", f"m{i}", f"room{i}", mentions_bot=True)
        tokens, state = await run_graph(services, event)
        assert "".join(tokens) == answer
        assert state["reply"] == answer and "voice_reply" not in state
        assert "nothing to say aloud" in state["voice_error"]
        assert await services.record.stored_text(state["reply_message_id"]) == answer
    logged = [r.getMessage() for r in caplog.records if r.name == "agent.nodes.speak"]
    assert len([m for m in logged if "nothing to say aloud" in m]) == len(NOTHING)

    fake_openai.push(Reply("I feel fine, thank you."))
    _, state = await run_graph(
        services, make_event("@Observer say it out loud: and now?", channel="hall", mentions_bot=True)
    )
    assert "voice_reply" in state, (state.get("reply"), state.get("voice_error"), state.get("error"))
    assert Path(state["voice_reply"]["path"]).read_bytes().startswith(b"OggS"), "voice still works"


async def test_the_console_answers_a_voice_request_with_dots_and_exits_0(tmp_path: Path, fake_openai: FakeOpenAI):
    (tmp_path / "observer.toml").write_text(models_toml(fake_openai.base_url))
    fake_openai.push(Reply("..."))
    code, out, err = await observer(tmp_path, "chat", "--once", "@Observer say it out loud: anything?")
    assert code == 0, err
    assert "Observer: ..." in out and "Traceback" not in err


async def test_observer_voice_say_refuses_text_with_no_sounds_in_one_line(tmp_path: Path):
    code, out, err = await observer(tmp_path, "voice", "say", "(^_^)", "--out", "face.ogg")
    assert code == 2 and "nothing to say aloud" in err and "Traceback" not in err
    assert not (tmp_path / "face.ogg").exists()


def test_the_voice_channel_skips_silent_sentences_and_speaks_the_rest(services: Services):
    stream = SpeechStream(services.speaker)
    for sentence in ("...", "😀", "```py", "(^_^)", "The ferry leaves at eight.", "…"):
        stream.say(sentence)
    stream.finish()
    frames = []
    for _ in range(5000):
        frame = stream.read(wait_s=0.5)
        if frame == b"":
            break
        if frame != SILENCE:
            frames.append(frame)
    assert 0.8 < len(frames) * 0.02 < 5.0, "one sentence spoken, and the stream ended"
