"""What the slash commands use of the running bot (the client implements it; commands never import it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import discord
from discord import app_commands

from agent.memory.processes import Me, Processes
from agent.services import Services
from agent.training.runner import TrainingRunner
from discord_adapter.links import LinkReader
from discord_adapter.queues import ChannelQueues
from discord_adapter.replier import Replier
from discord_adapter.training import TrainingDesk
from discord_adapter.translate import Translator


class CommandHost(Protocol):
    services: Services
    tree: app_commands.CommandTree[Any]
    replier: Replier  # /chat's answers; /status shows the last error
    queues: ChannelQueues  # /status shows the queues' depths
    processes: Processes
    me: Me
    translate: Translator  # discord.py messages → Events (/observer collect)
    links: LinkReader  # the messages /chat's prompt links to
    training: TrainingRunner  # /train start and cancel wake it
    training_desk: TrainingDesk  # /train start posts the job's progress message

    @property
    def latency(self) -> float: ...

    @property
    def guilds(self) -> Sequence[discord.Guild]: ...

    def uptime(self) -> float: ...
