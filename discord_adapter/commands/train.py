"""`/train start|status|list|cancel` and `/train example add|list`: fine-tune a model on what members
taught the bot (issue T). Starting, cancelling and adding examples need Manage Server (checked in code).

Training examples live under `/train example`, not `/dataset`: `/dataset` holds knowledge documents the
bot reads while answering; an example teaches how to answer and only a training job reads it."""

from __future__ import annotations

import logging
from typing import Literal

import discord
from discord import app_commands

from agent.memory.uploads import MAX_UPLOAD_BYTES, safe_filename, too_large
from agent.training import show
from agent.training.dataset import (
    ExampleError,
    add_examples,
    count_examples,
    example_sources,
    pair,
    parse_examples,
    remove_examples,
)
from agent.training.jobs import Job, JobStore, LocalJobBusy
from agent.training.runner import DEFAULT_EPOCHS, TrainingError, cancel_job, start_job
from discord_adapter.commands.common import MANAGE
from discord_adapter.commands.host import CommandHost
from discord_adapter.replies import reply

log = logging.getLogger(__name__)


class ExampleCommands(app_commands.Group, name="example", description="Examples to train on"):
    def __init__(self, bot: CommandHost) -> None:
        super().__init__()
        self.bot = bot

    @app_commands.command(name="add", description="Add training examples: a JSONL file, or one prompt and answer")
    @app_commands.describe(
        label="positive: answer like this; negative: never answer like this",
        file="JSONL: OpenAI chat format, preference format, or prompt/answer pairs",
        prompt="one example's prompt (with answer:)",
        answer="one example's answer (with prompt:)",
    )
    @MANAGE
    async def example_add(
        self,
        interaction: discord.Interaction,
        label: Literal["positive", "negative"] = "positive",
        file: discord.Attachment | None = None,
        prompt: app_commands.Range[str, 1, 2000] | None = None,
        answer: app_commands.Range[str, 1, 2000] | None = None,
    ) -> None:
        try:
            if file is not None:
                name = safe_filename(file.filename)
                if file.size > MAX_UPLOAD_BYTES:
                    await reply(interaction, too_large(name, file.size))
                    return
                text = (await file.read()).decode("utf-8-sig")
                examples, source = parse_examples(text, label), name
            elif prompt is not None and answer is not None:
                examples, source = [(label, pair(prompt, answer))], "inline"
            else:
                await reply(interaction, "Attach a JSONL file, or give both prompt: and answer:.")
                return
        except UnicodeDecodeError:
            await reply(interaction, "Nothing was added: the file is not UTF-8 text.")
            return
        except ExampleError as exc:
            await reply(interaction, f"Nothing was added: {exc}.")
            return
        stored = await add_examples(
            self.bot.services.record,
            examples,
            guild_id=interaction.guild_id,
            user_id=interaction.user.id,
            source=source,
        )
        await reply(interaction, f"Added {stored} training example{'s' if stored != 1 else ''} ({source}).")

    @app_commands.command(name="remove", description="Remove the examples uploaded from one file")
    @app_commands.describe(file="the file's name, as /train example list shows it (inline: those given one by one)")
    @MANAGE
    async def example_remove(self, interaction: discord.Interaction, file: app_commands.Range[str, 1, 120]) -> None:
        removed = await remove_examples(self.bot.services.record, interaction.guild_id, file)
        if not removed:
            await reply(interaction, f"No uploaded file called {file!r} here; /train example list names them.")
            return
        await reply(interaction, f"Removed {removed} training example{'s' if removed != 1 else ''} ({file}).")

    @example_remove.autocomplete("file")
    async def source_names(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        names = sorted(await example_sources(self.bot.services.record, interaction.guild_id))
        return [app_commands.Choice(name=n, value=n) for n in names if current.lower() in n.lower()][:25]

    @app_commands.command(name="list", description="How many examples this server has uploaded")
    @MANAGE
    async def example_list(self, interaction: discord.Interaction) -> None:
        record = self.bot.services.record
        counts = await count_examples(record, interaction.guild_id)
        text = ", ".join(f"{n} {label}" for label, n in counts.items())
        if not text:
            await reply(interaction, "No uploaded examples here yet.")
            return
        sources = await example_sources(record, interaction.guild_id)
        named = "\n".join(f"• {source}: {n}" for source, n in sorted(sources.items()))
        await reply(interaction, f"Uploaded examples here: {text}. By file (a dataset /train start can take):\n{named}")


class TrainCommands(
    app_commands.Group, name="train", description="Fine-tune a model on what members taught", guild_only=True
):
    def __init__(self, bot: CommandHost) -> None:
        super().__init__()
        self.bot = bot
        self.add_command(ExampleCommands(bot))

    @property
    def store(self) -> JobStore:
        return JobStore(self.bot.services.record.engine)

    @app_commands.command(name="start", description="Start a fine-tuning job on this server's training data")
    @app_commands.describe(
        base="a model marked fine_tunable (default: the first)",
        method="sft: learn the answers; dpo: prefer the corrected answers over the rejected ones",
        dataset="server: all this server taught (default), or one uploaded file's examples",
    )
    @MANAGE
    async def train_start(
        self,
        interaction: discord.Interaction,
        base: str | None = None,
        method: Literal["sft", "dpo"] = "sft",
        dataset: app_commands.Range[str, 1, 120] = "server",
    ) -> None:
        services = self.bot.services
        registry = services.registry
        # Every server's data together is the host operator's choice (`observer train start`), never a
        # server admin's: one server never trains on, nor sees, another's.
        source = None if dataset == "server" else dataset
        if source is not None and source not in await example_sources(services.record, interaction.guild_id):
            await reply(interaction, f"No uploaded file called {dataset!r} here; /train example list names them.")
            return
        base = base or next((m.name for m in registry.specs if m.fine_tunable), None)
        if base is None:
            await reply(interaction, "No model in the list is marked fine_tunable; the operator can mark one.")
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            job = await start_job(
                self.store,
                registry,
                services.record,
                data_dir=services.settings.data_dir,
                bot_name=services.settings.bot_name,
                base=base,
                method=method,
                epochs=DEFAULT_EPOCHS,
                guild_id=interaction.guild_id,
                user_id=interaction.user.id,
                keep_names=services.settings.training_keep_names,
                threads=services.settings.training_threads,
                source=source,
            )
        except TrainingError as exc:
            await reply(interaction, f"Not started: {exc}.")
            return
        except LocalJobBusy as exc:
            await reply(interaction, f"Not started: local job #{exc.job_id} is still running (one at a time).")
            return
        if interaction.channel is not None:
            await self.bot.training_desk.post(job, interaction.channel)
        self.bot.training.wake()
        await reply(
            interaction,
            f"Training job #{job.id} queued on {job.base} ({job.method}, {job.train_examples} examples, "
            f"{job.test_examples} held out). Its progress shows in this channel.",
        )

    @train_start.autocomplete("base")
    async def base_names(self, _interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        names = [m.name for m in self.bot.services.registry.specs if m.fine_tunable]
        return [app_commands.Choice(name=n, value=n) for n in names if current.lower() in n.lower()][:25]

    @train_start.autocomplete("dataset")
    async def dataset_names(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        names = ["server", *sorted(await example_sources(self.bot.services.record, interaction.guild_id))]
        return [app_commands.Choice(name=n, value=n) for n in names if current.lower() in n.lower()][:25]

    @app_commands.command(name="status", description="A job's state, progress, data size, method, cost or CPU time")
    @app_commands.describe(job="the job's number (default: this server's newest)")
    async def train_status(self, interaction: discord.Interaction, job: int | None = None) -> None:
        found = await self._job(interaction, job)
        await reply(interaction, show.status(found) if found else "No such training job here.")

    @app_commands.command(name="list", description="This server's training jobs, newest first")
    async def train_list(self, interaction: discord.Interaction) -> None:
        jobs = await self.store.listing(interaction.guild_id, limit=10)
        await reply(interaction, "\n".join(show.line(j) for j in jobs) or "No training jobs here yet.")

    @app_commands.command(name="cancel", description="Cancel a queued or running training job")
    @app_commands.describe(job="the job's number (default: this server's newest)")
    @MANAGE
    async def train_cancel(self, interaction: discord.Interaction, job: int | None = None) -> None:
        found = await self._job(interaction, job)
        if found is None:
            await reply(interaction, "No such training job here.")
            return
        if not await cancel_job(self.store, self.bot.services.registry, found):
            await reply(interaction, f"Job #{found.id} had already {found.state}.")
            return
        after = await self.store.get(found.id)
        if after is not None:
            await self.bot.training_desk.show(after)
        await reply(interaction, f"Cancelled training job #{found.id}.")

    async def _job(self, interaction: discord.Interaction, job_id: int | None) -> Job | None:
        """The job named (only when it is this server's: the host's every-server jobs are the host's), or
        the server's newest."""
        if job_id is None:
            return next(iter(await self.store.listing(interaction.guild_id, limit=1)), None)
        found = await self.store.get(job_id)
        return found if found is not None and found.guild_id == interaction.guild_id else None
