"""The Discord side of training jobs: each job's progress message (a bar, steps, epoch, loss), edited as
the job advances — after a restart too, since the message's ids are kept with the job."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from agent.training import show
from agent.training.jobs import Job, JobStore
from agent.training.runner import TrainingRunner
from discord_adapter.stream import ChannelBudget

log = logging.getLogger(__name__)


class TrainingDesk:
    """Shows jobs in Discord; its `show` is the runner's `on_change`."""

    def __init__(self, client: discord.Client, store: JobStore, budget: ChannelBudget) -> None:
        self.client = client
        self.store = store
        self.budget = budget

    async def post(self, job: Job, channel: Any) -> None:
        """Post the job's progress message in `channel` and remember it with the job."""
        async with self.budget.turn(channel.id):
            message = await channel.send(show.status(job), allowed_mentions=discord.AllowedMentions.none())
        await self.store.set_progress_message(job.id, channel.id, message.id)

    async def show(self, job: Job) -> None:
        """Edit the job's progress message to its state now (nothing when it has none)."""
        if job.progress_channel_id is None or job.progress_message_id is None:
            return
        channel = self.client.get_channel(job.progress_channel_id) or self.client.get_partial_messageable(
            job.progress_channel_id
        )
        message = channel.get_partial_message(job.progress_message_id)  # type: ignore[union-attr]
        try:
            async with self.budget.turn(job.progress_channel_id, interim=job.active):
                await message.edit(content=show.status(job))
        except discord.NotFound:
            log.info("training: job %s's progress message was deleted; no more edits", job.id)
            await self.store.set_progress_message(job.id, None, None)


async def run_training(runner: TrainingRunner, ready: Callable[[], Awaitable[Any]]) -> None:
    """Drive training jobs once the bot is connected (its progress messages need it), until cancelled."""
    await ready()
    with contextlib.suppress(asyncio.CancelledError):
        await runner.run_forever()
