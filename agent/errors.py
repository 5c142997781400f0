"""Errors that end the program with one actionable line instead of a traceback."""

from __future__ import annotations

from dataclasses import dataclass
from typing import get_args

from agent.models.failures import FailureKind


class ConfigError(Exception):
    """A missing or invalid setting. The message names the setting and what to do."""

    exit_code = 2


# Why a run gave no (or only part of an) answer: a model call's failure kind, or a door-side refusal.
ErrorCode = FailureKind


@dataclass(frozen=True)
class RunError:
    """A run's failure, as a door reads it (Home Assistant's assist_pipeline error event): `code` picks
    what the member reads (agent/member_texts.py), `message` is for operators (log, /observer status),
    already redacted where it came from a server."""

    code: ErrorCode
    message: str

    @classmethod
    def of(cls, message: object, code: str | None) -> RunError | None:
        """From a run's state: None when the run did not fail (no message)."""
        if not message:
            return None
        return cls(code=code if code in ERROR_CODES else "failed", message=str(message))  # type: ignore[arg-type]


ERROR_CODES: frozenset[str] = frozenset(get_args(FailureKind))
