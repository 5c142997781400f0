"""Speech: decoding and encoding audio, speech-to-text (faster-whisper), text-to-speech (Piper)."""
