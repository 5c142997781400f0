"""Members' audio files as the world sends them, through the reply graph and `observer voice
transcribe`: decompression bombs (hours of silence in a few MB, a container or header that lies
about the length) are refused with the one-line reply and the bot answers the next message; a
damaged frame or a sample-rate change mid-file still gets the voice note transcribed.
Memory is measured by bench/decode_bombs.py, not here."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from agent.events import Attachment, Event
from agent.services import Services
from agent.voice.audio import encode_voice_message
from tests.audio_files import (
    damage_one_frame,
    lying_wav,
    mp3,
    mp3_frames,
    mp3_lying_bitrate,
    silent_flac,
    silent_opus_ogg,
)
from tests.conftest import make_event, run_graph, words
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.integration.test_cli import observer

FIRST = "Please bring the green tea to the library on Monday morning."
SECOND = "The museum opens at nine and closes at five."


@pytest.fixture
async def files() -> AsyncIterator[FakeDiscord]:
    server = FakeDiscord()
    await server.start()
    yield server
    await server.stop()


def audio_event(server: FakeDiscord, filename: str, data: bytes, content_type: str, duration: float | None) -> Event:
    extra = {"duration_secs": duration} if duration is not None else {}
    att = server.attachment(filename, data, content_type, **extra)
    attachment = Attachment(
        filename=filename,
        content_type=content_type,
        size=len(data),
        url=att["url"],
        is_voice=filename == "voice-message.ogg",
        duration_s=duration,
    )
    return make_event("", attachments=[attachment], is_dm=True, guild_id=None)


def speech_mp3(services: Services, text: str, out_rate: int = 44_100) -> bytes:
    speech = services.speaker.synthesize(text)
    return mp3(speech.samples, speech.rate, out_rate=out_rate)


BOMBS: dict[str, tuple[str, str, Callable[[], bytes]]] = {
    # The Discord client said 1 s; the Ogg pages say about 1 s too; the packets hold two hours.
    "two hours of Opus claiming one second": (
        "voice-message.ogg",
        "audio/ogg",
        lambda: silent_opus_ogg(7200, stated_seconds=1),
    ),
    "six hours of FLAC silence": ("silence.flac", "audio/flac", lambda: silent_flac(6 * 3600)),
    "FLAC whose STREAMINFO says one second": (
        "quiet.flac",
        "audio/flac",
        lambda: silent_flac(1200, stated_seconds=1),
    ),
    "WAV whose header says 8 samples a second": ("note.wav", "audio/wav", lambda: lying_wav(60, 8)),
    "mp3 whose first frames lie about the bit rate": (
        "song.mp3",
        "audio/mpeg",
        lambda: mp3_lying_bitrate(7200),
    ),
}


@pytest.mark.parametrize("bomb", list(BOMBS))
async def test_a_decoding_bomb_is_refused_in_one_line_and_the_next_message_is_answered(
    bomb: str, services: Services, fake_openai: FakeOpenAI, files: FakeDiscord
):
    filename, content_type, make = BOMBS[bomb]
    data = make()
    assert len(data) <= services.settings.voice_max_bytes, "small enough to be downloaded"
    event = audio_event(files, filename, data, content_type, duration=1.0)

    tokens, state = await run_graph(services, event)

    reply = "".join(tokens)
    assert reply.startswith("That recording is too long for me to listen to (limit: 5 min") and "\n" not in reply
    assert files.file_downloads, "it was downloaded: neither the stated size nor duration gave it away"
    assert fake_openai.chat_requests() == [], "no model call for audio nobody listened to"
    assert await services.record.stored_text(event.message_id) is not None, "the message stays in the record"
    assert "transcript" not in state

    fake_openai.push(Reply("The market opens on Tuesdays."))
    tokens, _ = await run_graph(services, make_event("@Observer when is the market?", mentions_bot=True))
    assert "".join(tokens) == "The market opens on Tuesdays."


async def test_an_mp3_with_one_damaged_frame_is_transcribed_and_answered(
    services: Services, fake_openai: FakeOpenAI, files: FakeDiscord, caplog: pytest.LogCaptureFixture
):
    data = damage_one_frame(speech_mp3(services, FIRST))
    event = audio_event(files, "note.mp3", data, "audio/mpeg", duration=None)
    fake_openai.push(Reply("I'll bring it."))
    caplog.set_level("INFO", logger="agent.voice.decoding")

    tokens, state = await run_graph(services, event)

    assert len(words(FIRST) & words(state["transcript"])) >= len(words(FIRST)) - 2, state["transcript"]
    assert "".join(tokens) == "I'll bring it."
    skipped = [r.getMessage() for r in caplog.records if r.name == "agent.voice.decoding"]
    assert any("1 damaged packet(s)" in m for m in skipped), skipped
    assert not any("green tea" in m.lower() for m in caplog.messages), "no content in the log"


async def test_a_sample_rate_change_mid_file_keeps_both_halves(
    services: Services, fake_openai: FakeOpenAI, files: FakeDiscord
):
    # Two mp3 streams one after the other (as cutting tools and some recorders produce): 44.1 kHz,
    # then 22.05 kHz. The decoder's output format changes mid-file; the resampler is rebuilt.
    data = speech_mp3(services, FIRST, 44_100) + speech_mp3(services, SECOND, 22_050)
    event = audio_event(files, "two-parts.mp3", data, "audio/mpeg", duration=None)
    fake_openai.push(Reply("Noted."))

    _, state = await run_graph(services, event)

    heard = words(state["transcript"])
    assert len(words(FIRST) & heard) >= len(words(FIRST)) - 2, state["transcript"]
    assert len(words(SECOND) & heard) >= len(words(SECOND)) - 2, state["transcript"]


async def test_a_file_with_nothing_decodable_is_still_refused(
    services: Services, fake_openai: FakeOpenAI, files: FakeDiscord
):
    scrambled = bytearray(speech_mp3(services, FIRST))
    for offset, _ in mp3_frames(bytes(scrambled)):  # every frame damaged as damage_one_frame damages one
        scrambled[offset + 4 : offset + 20] = b"\xff" * 16
    event = audio_event(files, "noise.mp3", bytes(scrambled), "audio/mpeg", duration=None)
    tokens, _ = await run_graph(services, event)
    reply = "".join(tokens)
    assert reply.startswith("I couldn't listen to noise.mp3") and "\n" not in reply
    assert fake_openai.chat_requests() == []


async def test_observer_voice_transcribe_refuses_a_bomb_and_reads_a_damaged_mp3(tmp_path: Path, services: Services):
    (tmp_path / "bomb.ogg").write_bytes(silent_opus_ogg(7200, stated_seconds=1))
    (tmp_path / "note.mp3").write_bytes(damage_one_frame(speech_mp3(services, FIRST)))

    code, out, err = await observer(tmp_path, "voice", "transcribe", "bomb.ogg")
    assert code == 2 and out == ""
    assert "bomb.ogg: That recording is too long for me to listen to (limit: 5 min" in err
    assert "Traceback" not in err

    code, out, err = await observer(tmp_path, "voice", "transcribe", "note.mp3")
    assert code == 0, err
    assert len(words(FIRST) & words(out)) >= len(words(FIRST)) - 2, out


async def test_a_voice_message_cut_short_is_transcribed_up_to_the_cut(
    services: Services, fake_openai: FakeOpenAI, files: FakeDiscord
):
    # faster-whisper#988's kind: a file damaged at the end; PyAV used to stop with an error and
    # nothing was heard. What was decoded before the damage is kept.
    speech = services.speaker.synthesize(FIRST + " " + SECOND)
    whole = encode_voice_message(speech.samples, speech.rate).data
    event = audio_event(files, "voice-message.ogg", whole[: len(whole) * 2 // 3], "audio/ogg", duration=6.0)
    fake_openai.push(Reply("Got it."))

    tokens, state = await run_graph(services, event)

    assert len(words(FIRST) & words(state["transcript"])) >= len(words(FIRST)) - 2, state["transcript"]
    assert "".join(tokens) == "Got it."
