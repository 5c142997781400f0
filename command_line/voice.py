"""`observer voice transcribe FILE` and `observer voice say TEXT --out FILE.ogg`, through the same
transcriber, speaker and encoder the bot uses (and the same settings)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from agent.errors import ConfigError
from agent.settings import Settings


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    voice = sub.add_parser("voice", help="speech-to-text and text-to-speech with the configured models")
    vs = voice.add_subparsers(dest="voice_command", required=True)
    transcribe = vs.add_parser("transcribe", help="print what an audio file says")
    transcribe.add_argument("file", type=Path)
    say = vs.add_parser("say", help="write TEXT as a Discord voice message file (Ogg/Opus)")
    say.add_argument("text")
    say.add_argument("--out", type=Path, required=True, help="the .ogg file to write")


def _transcribe(settings: Settings, path: Path) -> str:
    from agent.member_texts import recording_too_long
    from agent.voice.decoding import AudioError, AudioTooLong, decode
    from agent.voice.stt import Transcriber

    if not path.is_file():
        raise ConfigError(f"{path}: no such file")
    if path.stat().st_size > settings.voice_max_bytes:
        raise ConfigError(f"{path}: larger than OBSERVER_VOICE_MAX_BYTES ({settings.voice_max_bytes})")
    try:
        samples = decode(path.read_bytes(), settings.voice_max_seconds)
    except AudioTooLong:
        limit = f"{settings.voice_max_seconds / 60:g} min, OBSERVER_VOICE_MAX_SECONDS"
        raise ConfigError(f"{path}: {recording_too_long(limit)}") from None
    except AudioError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    cache = settings.data_dir / "models" / "whisper"
    transcriber = Transcriber(settings.whisper_model, settings.whisper_language, cache, settings.whisper_threads)
    heard = transcriber.transcribe(samples)
    print(f"({heard.language}, {heard.duration_s:.1f} s)", file=sys.stderr)
    return heard.text


def _say(settings: Settings, text: str, out: Path) -> str:
    from agent.voice.audio import encode_voice_message
    from agent.voice.speakable import has_sounds, speakable
    from agent.voice.tts import NoVoiceForLanguage, Speaker

    if out.suffix.lower() not in (".ogg", ".oga", ".opus"):
        raise ConfigError(f"--out: {out} should end in .ogg")
    if not has_sounds(text):
        raise ConfigError("TEXT has nothing to say aloud (only punctuation, emoji, symbols or code)")
    try:
        speech = Speaker(settings.piper_voice, settings.piper_voices).synthesize(speakable(text))
    except NoVoiceForLanguage as exc:
        raise ConfigError(str(exc)) from None
    clip = encode_voice_message(speech.samples, speech.rate)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_bytes(clip.data)
    tmp.replace(out)
    return f"wrote {out}: {clip.duration_s:.2f} s, {len(clip.data)} bytes, voice language {speech.language}"


async def voice_command(settings: Settings, args: argparse.Namespace) -> int:
    if args.voice_command == "transcribe":
        print(await asyncio.to_thread(_transcribe, settings, args.file))
    else:
        print(await asyncio.to_thread(_say, settings, args.text, args.out))
    return 0
