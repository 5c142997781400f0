"""Voice through the real models (Piper, PyAV Opus, Whisper tiny.en) and the reply graph; the audio
is served over loopback by the fake Discord server, the model answers from the fake OpenAI server."""

from __future__ import annotations

import base64
import io
from collections.abc import AsyncIterator
from pathlib import Path

import av
import pytest

from agent.events import Attachment
from agent.services import Services
from agent.voice.audio import decode, encode_voice_message
from tests.conftest import make_event, run_graph, words
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.openai_server import FakeOpenAI, Reply

SENTENCE = "Please bring the green tea to the library on Monday morning."


@pytest.fixture
async def files() -> AsyncIterator[FakeDiscord]:
    server = FakeDiscord()
    await server.start()
    yield server
    await server.stop()


def voice_bytes(services: Services, text: str) -> tuple[bytes, float]:
    speech = services.speaker.synthesize(text)
    clip = encode_voice_message(speech.samples, speech.rate)
    return clip.data, clip.duration_s


def voice_event(server: FakeDiscord, data: bytes, duration: float, **kw):
    att = server.attachment("voice-message.ogg", data, duration_secs=duration)
    attachment = Attachment(
        filename=att["filename"],
        content_type="audio/ogg",
        size=len(data),
        url=att["url"],
        is_voice=True,
        duration_s=duration,
    )
    return make_event("", attachments=[attachment], **kw)


def test_round_trip_piper_to_voice_message_to_whisper(services: Services):
    speech = services.speaker.synthesize(SENTENCE)
    clip = encode_voice_message(speech.samples, speech.rate)
    with av.open(io.BytesIO(clip.data)) as container:
        stream = container.streams.audio[0]
        assert (container.format.name, stream.codec_context.name, stream.sample_rate) == ("ogg", "opus", 48000)
        assert stream.codec_context.layout.name == "mono"
    assert abs(clip.duration_s - speech.samples.size / speech.rate) < 0.02
    peaks = base64.b64decode(clip.waveform)
    assert 0 < len(peaks) <= 256 and max(peaks) == 255
    heard = services.transcriber.transcribe(decode(clip.data, 300.0))
    assert len(words(SENTENCE) & words(heard.text)) >= len(words(SENTENCE)) - 1, heard.text
    assert heard.language == "en"


async def test_voice_message_is_transcribed_stored_answered_and_spoken(
    services: Services, fake_openai: FakeOpenAI, files: FakeDiscord
):
    said = "Hello Observer, what time does the ferry leave tomorrow?"
    data, duration = voice_bytes(services, said)
    event = voice_event(files, data, duration, is_dm=True, guild_id=None)
    fake_openai.push(Reply("The first ferry leaves at eight in the morning. The second one at half past three."))

    tokens, state = await run_graph(services, event)

    # Piper adds random noise to every synthesis: now and then tiny.en hears "fairy". One word may differ.
    heard = state["transcript"]
    assert len(words(said) & words(heard)) >= len(words(said)) - 1, heard
    assert state["heard_voice"] is True
    stored = await services.record.stored_text(event.message_id)
    assert stored is not None and heard in stored, "the transcript is stored with the message"
    assert heard in fake_openai.chat_requests()[-1]["messages"][-1]["content"]
    assert "spoken aloud" in fake_openai.chat_requests()[-1]["messages"][0]["content"], "the voice style prompt"
    assert "".join(tokens).startswith("The first ferry")
    voice = state["voice_reply"]
    ogg = Path(voice["path"]).read_bytes()
    assert ogg.startswith(b"OggS") and 3.0 < voice["duration_s"] < 15.0
    assert len(base64.b64decode(voice["waveform"])) <= 256
    heard = services.transcriber.transcribe(decode(ogg, 300.0))
    assert {"morning", "second"} <= words(heard.text), heard.text


async def test_text_question_asking_for_voice_gets_a_voice_reply(services: Services, fake_openai: FakeOpenAI):
    fake_openai.push(Reply("Sure. The market opens on Tuesdays and Saturdays."))
    _, state = await run_graph(
        services, make_event("@Observer say it out loud: when is the market?", mentions_bot=True)
    )
    assert Path(state["voice_reply"]["path"]).is_file()
    fake_openai.push(Reply("On Tuesdays."))
    _, plain = await run_graph(services, make_event("@Observer when is the market?", mentions_bot=True))
    assert "voice_reply" not in plain, "text questions get text only"


async def test_japanese_reply_without_a_japanese_voice_stays_text_and_says_why(
    services: Services, fake_openai: FakeOpenAI
):
    fake_openai.push(Reply("市場は火曜日と土曜日に開きます。"))
    _, state = await run_graph(services, make_event("@Observer 声で教えて：市場はいつ？", mentions_bot=True))
    assert state["reply"] == "市場は火曜日と土曜日に開きます。"
    assert "voice_reply" not in state and "OBSERVER_PIPER_VOICES" in state["voice_error"]


async def test_corrupt_audio_gets_a_one_line_reply_and_the_message_stays(
    services: Services, fake_openai: FakeOpenAI, files: FakeDiscord
):
    event = voice_event(files, b"OggS" + bytes(range(256)) * 20, 3.0, is_dm=True, guild_id=None)
    tokens, state = await run_graph(services, event)
    reply = "".join(tokens)
    assert reply.startswith("I couldn't listen to voice-message.ogg") and "\n" not in reply
    assert fake_openai.chat_requests() == [], "no model is called for audio nobody can hear"
    assert await services.record.stored_text(event.message_id) is not None
    assert await services.record.stored_text(state["reply_message_id"]) == reply


async def test_oversized_audio_is_refused_before_download(
    services: Services, fake_openai: FakeOpenAI, files: FakeDiscord
):
    data = b"\0" * 1024
    long_one = voice_event(files, data, services.settings.voice_max_seconds + 1, is_dm=True, guild_id=None)
    tokens, _ = await run_graph(services, long_one)
    assert "too long" in "".join(tokens) and "5 min" in "".join(tokens)
    huge = voice_event(files, data, 2.0, is_dm=True, guild_id=None)
    huge.attachments[0].size = services.settings.voice_max_bytes + 1
    tokens, _ = await run_graph(services, huge)
    assert "too long" in "".join(tokens)
    assert files.file_downloads == [], "nothing was downloaded"
    assert fake_openai.chat_requests() == []
