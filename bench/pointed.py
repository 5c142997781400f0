"""Run a discord.py bot script with discord.py aimed at a Discord-compatible server (the benchmarks' fake).

    FAKE_DISCORD_API=http://127.0.0.1:P/api/v10 FAKE_DISCORD_GATEWAY=ws://127.0.0.1:P/gateway \\
        python -m bench.pointed path/to/bot.py

Used by bench.versus_llmcord to run another project's bot unchanged, from a folder outside this repository.
"""

from __future__ import annotations

import os
import runpy
import sys

import discord
import yarl
from discord.gateway import DiscordWebSocket


def main() -> None:
    discord.http.Route.BASE = os.environ["FAKE_DISCORD_API"].rstrip("/")
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(os.environ["FAKE_DISCORD_GATEWAY"])
    script = sys.argv[1]
    sys.argv = sys.argv[1:]
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
