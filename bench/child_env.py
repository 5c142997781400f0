"""The environment a benchmark gives the Observer processes it starts: a user's, not this shell's."""

from __future__ import annotations

import os

# A developer's shell may set PYTHONDONTWRITEBYTECODE (ours does): then every start compiles Observer's
# own modules again (~0.4 s on 2 cores), which no user's install pays. OBSERVER_* and the token are the
# benchmark's to set.
_DROPPED = ("PYTHONDONTWRITEBYTECODE", "DISCORD_TOKEN")


def user_env(**extra: str) -> dict[str, str]:
    """os.environ without OBSERVER_* settings, DISCORD_TOKEN and PYTHONDONTWRITEBYTECODE, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OBSERVER_") and k not in _DROPPED}
    env.update(extra)
    return env
