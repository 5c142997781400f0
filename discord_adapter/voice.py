"""Voice out: replies as Discord voice messages, and spoken sentence by sentence in a voice channel."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from pathlib import Path
from typing import Any

import discord
from discord import utils
from discord.http import Route, handle_message_parameters

from agent.events import Event
from agent.voice.playback import SpeechStream
from agent.voice.sentences import SentenceSplitter
from agent.voice.tts import Speaker

log = logging.getLogger(__name__)

VOICE_MESSAGE_NAME = "voice-message.ogg"


def load_opus() -> bool:
    """discord.py needs the system's libopus for voice channels (apt install libopus0)."""
    if discord.opus.is_loaded():
        return True
    for name in ("libopus.so.0", "libopus.so", "libopus.0.dylib", "opus"):
        try:
            discord.opus.load_opus(name)
            return True
        except OSError:
            continue
    return False


async def send_voice_message(
    http: discord.http.HTTPClient, channel_id: int, path: Path, duration_s: float, waveform: str, reply_to: int
) -> dict[str, Any]:
    """POST a real voice message: flag 8192, one Ogg/Opus attachment with duration and waveform.

    discord.py has no API for this, so the payload is built with its own helpers and sent raw."""
    data = await asyncio.to_thread(path.read_bytes)
    file = discord.File(fp=io.BytesIO(data), filename=VOICE_MESSAGE_NAME)
    reference = discord.MessageReference(message_id=reply_to, channel_id=channel_id, fail_if_not_exists=False)
    params = handle_message_parameters(
        file=file,
        flags=discord.MessageFlags(voice=True),
        message_reference=reference.to_message_reference_dict(),
        allowed_mentions=discord.AllowedMentions.none(),
    )
    assert params.multipart is not None
    # With files, discord.py has already serialised the payload into the first form part.
    payload = json.loads(params.multipart[0]["value"])
    payload["attachments"][0].update(duration_secs=duration_s, waveform=waveform)
    params.multipart[0]["value"] = utils._to_json(payload)
    try:
        return await http.request(  # type: ignore[no-any-return]
            Route("POST", "/channels/{channel_id}/messages", channel_id=channel_id),
            files=params.files,
            form=params.multipart,
        )
    finally:
        file.close()


class SpeechSource(discord.AudioSource):
    """discord.py's player thread pulls 20 ms frames from the speech stream."""

    def __init__(self, stream: SpeechStream) -> None:
        self.stream = stream

    def read(self) -> bytes:
        return self.stream.read(wait_s=0.01)  # under a frame, so the player keeps its 20 ms pace

    def is_opus(self) -> bool:
        return False

    def cleanup(self) -> None:
        self.stream.stop()


class LiveSpeech:
    """Speaks one streamed reply in the voice channel: tokens in, sentences out as soon as they end."""

    def __init__(self, voice_client: discord.VoiceClient, speaker: Speaker, language_hint: str | None) -> None:
        self.stream = SpeechStream(speaker, language_hint)
        self.splitter = SentenceSplitter()
        if voice_client.is_playing():
            voice_client.stop()
        voice_client.play(SpeechSource(self.stream))

    def feed(self, token: str) -> None:
        for sentence in self.splitter.feed(token):
            self.stream.say(sentence)

    def finish(self) -> None:
        for sentence in self.splitter.flush():
            self.stream.say(sentence)
        self.stream.finish()


def voice_client_for(client: discord.Client, event: Event) -> discord.VoiceClient | None:
    """The bot's connection in the voice channel the member is in, if the bot is there too."""
    if event.guild_id is None:
        return None
    guild = client.get_guild(event.guild_id)
    if guild is None or not isinstance(guild.voice_client, discord.VoiceClient):
        return None
    member = guild.get_member(event.author_id)
    voice = guild.voice_client
    if member is None or member.voice is None or member.voice.channel != voice.channel:
        return None
    return voice
