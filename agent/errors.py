"""Errors that end the program with one actionable line instead of a traceback."""

from __future__ import annotations


class ConfigError(Exception):
    """A missing or invalid setting. The message names the setting and what to do."""

    exit_code = 2
