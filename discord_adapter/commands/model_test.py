"""`/test` (Manage Server: every answer is a model call the server pays for) and `/instruction`."""

from __future__ import annotations

import io
import logging
import time
from typing import Any

import discord
from discord import app_commands

from agent.memory.uploads import MAX_UPLOAD_BYTES, safe_filename, too_large
from agent.training.model_test import TestRefused, run_model_test
from discord_adapter.commands.common import MANAGE
from discord_adapter.commands.host import CommandHost
from discord_adapter.replies import reply
from discord_adapter.split import split_message

log = logging.getLogger(__name__)
QUIET = discord.AllowedMentions.none()
PROGRESS_EVERY_SECONDS = 5.0  # an edit per answer would meet Discord's rate limit on a fast model


def test_command(bot: CommandHost) -> app_commands.Command[Any, ..., None]:
    services = bot.services
    running: set[int] = set()  # servers with a test under way: one at a time each

    @app_commands.command(name="test", description="Score a model, or two side by side, on a test set")
    @app_commands.describe(
        model="the model to test (default: the newest model trained here, else the default model)",
        against="a second model answering beside it (default with a trained model: its base)",
        file="a JSONL test set (as /train example add reads; default: the held-out part of this server's data)",
        json_text='a test set as inline JSON, e.g. [{"prompt": "…", "answer": "…"}]',
        grader="a model of the list that judges each answer right or wrong",
    )
    @app_commands.rename(json_text="json")
    @app_commands.guild_only()
    @MANAGE
    async def test(
        interaction: discord.Interaction,
        model: str | None = None,
        against: str | None = None,
        file: discord.Attachment | None = None,
        json_text: app_commands.Range[str, 2, 4000] | None = None,
        grader: str | None = None,
    ) -> None:
        guild_id = interaction.guild_id or 0
        if guild_id in running:
            await reply(interaction, "A test is already running in this server; wait for its report.")
            return
        if file is not None and json_text is not None:
            await reply(interaction, "Give the test set as a file or as json:, not both.")
            return
        if file is not None and file.size > MAX_UPLOAD_BYTES:
            await reply(interaction, too_large(safe_filename(file.filename), file.size))
            return
        # Shown to the admin who ran it: the held-out questions are what members taught (names replaced).
        await interaction.response.defer(ephemeral=True, thinking=True)
        running.add(guild_id)
        try:
            text = json_text
            if file is not None:
                try:
                    text = (await file.read()).decode("utf-8-sig")
                except UnicodeDecodeError:
                    await _say(interaction, f"Not tested: {safe_filename(file.filename)} is not UTF-8 text.")
                    return
            last = [time.monotonic()]

            async def progress(done: int, total: int) -> None:
                if time.monotonic() - last[0] >= PROGRESS_EVERY_SECONDS and done < total:
                    last[0] = time.monotonic()
                    await _say(interaction, f"Testing… {done}/{total} answers.")

            try:
                result = await run_model_test(
                    services,
                    guild_id=interaction.guild_id,
                    model=model,
                    against=against,
                    text=text,
                    grader=grader,
                    on_progress=progress,
                )
            except TestRefused as exc:
                await _say(interaction, f"Not tested: {exc}.")
                return
            report = result.report
            summary = f"**{report.heading()}**\n```\n{report.table()}\n```\nPer example: `test-results.md`."
            files = [
                discord.File(io.BytesIO(result.chart), filename="test-chart.png"),
                discord.File(io.BytesIO(report.details().encode()), filename="test-results.md"),
            ]
            await interaction.edit_original_response(
                content=split_message(summary)[0], attachments=files, allowed_mentions=QUIET
            )
        finally:
            running.discard(guild_id)

    @test.autocomplete("model")
    @test.autocomplete("against")
    @test.autocomplete("grader")
    async def model_names(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        names = services.registry.names_for(interaction.guild_id)
        return [app_commands.Choice(name=n, value=n) for n in names if current.lower() in n.lower()][:25]

    return test


async def _say(interaction: discord.Interaction, text: str) -> None:
    await interaction.edit_original_response(content=split_message(text)[0], allowed_mentions=QUIET)


def instruction_command(bot: CommandHost) -> app_commands.Command[Any, ..., None]:
    services = bot.services

    @app_commands.command(name="instruction", description="How to talk to Observer here")
    async def instruction(interaction: discord.Interaction) -> None:
        # The operator's document (prompts/instruction.md, or this server's override of it), shown as
        # the member chose for what the bot tells them: privately or in the channel.
        private = await services.record.privacy(interaction.user.id) == "private"
        text = await services.prompts.arender("instruction", interaction.guild_id, bot_name=services.settings.bot_name)
        parts = split_message(text.strip() or "This server has no instructions for members.")
        await interaction.response.send_message(parts[0], ephemeral=private, allowed_mentions=QUIET)
        for part in parts[1:]:
            await interaction.followup.send(part, ephemeral=private, allowed_mentions=QUIET)

    return instruction
