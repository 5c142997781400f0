"""Speech for voice channels: sentences in as the reply streams, 20 ms frames out, through the real
Piper voice and discord.py's Opus encoder (the system libopus)."""

from __future__ import annotations

import discord
import pytest

from agent.voice.audio import FRAME_BYTES
from agent.voice.playback import SILENCE, SpeechStream
from agent.voice.tts import Speaker
from discord_adapter.voice import LiveSpeech, SpeechSource, load_opus


def drain(stream: SpeechStream, limit: int = 5000) -> list[bytes]:
    frames = []
    for _ in range(limit):
        frame = stream.read(wait_s=0.5)
        if frame == b"":
            break
        if frame != SILENCE:
            frames.append(frame)
    return frames


@pytest.fixture(scope="module")
def speaker() -> Speaker:
    return Speaker(None)


def test_sentences_become_20ms_frames_that_opus_can_encode(speaker: Speaker):
    assert load_opus(), "libopus must be installed (apt install libopus0)"
    stream = SpeechStream(speaker)
    stream.say("The ferry leaves at eight.")
    stream.say("Bring a warm coat.")
    stream.finish()
    frames = drain(stream)
    assert all(len(f) == FRAME_BYTES for f in frames)
    seconds = len(frames) * 0.02
    assert 1.5 < seconds < 8.0, seconds
    packet = discord.opus.Encoder().encode(frames[0], 960)
    assert 0 < len(packet) < FRAME_BYTES


def test_stop_cuts_speech_off(speaker: Speaker):
    stream = SpeechStream(speaker)
    stream.say("This is a long sentence that nobody will hear to the end, because someone used the stop command.")
    first = stream.read(wait_s=5.0)
    assert first and first != b""
    stream.stop()
    assert stream.read() == b""
    source = SpeechSource(SpeechStream(speaker))
    source.cleanup()
    assert source.read() == b"", "discord.py's cleanup (after /stop) ends the source"


class FakeVoiceClient:
    """Stands in for discord.py's connected VoiceClient: the player thread only calls read()."""

    def __init__(self) -> None:
        self.source: SpeechSource | None = None

    def is_playing(self) -> bool:
        return False

    def play(self, source: SpeechSource) -> None:
        self.source = source


def test_streamed_tokens_are_spoken_sentence_by_sentence(speaker: Speaker):
    client = FakeVoiceClient()
    live = LiveSpeech(client, speaker, None)  # type: ignore[arg-type]
    assert client.source is not None
    for token in ["Good ", "morning", " everyone. ", "The tea", " is ready."]:
        live.feed(token)
    # The first sentence is already being spoken before the reply is complete.
    first = client.source.stream.read(wait_s=5.0)
    assert first not in (b"", SILENCE)
    live.finish()
    rest = drain(client.source.stream)
    assert len(rest) * 0.02 > 1.0
