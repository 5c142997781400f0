"""The trainer's one error type: its message is the single stderr line the job shows."""

from __future__ import annotations


class TrainingFailed(Exception):
    """Training cannot start or go on; the message says what is wrong and, where it can, what to change."""
