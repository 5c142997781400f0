"""/persona and /dataset: personas and knowledge documents uploaded as attachments (Manage Server)."""

from __future__ import annotations

import asyncio
import io
from typing import Literal

import discord
from discord import app_commands

from agent.memory.listing import documents
from agent.memory.persona_files import FileLimits
from agent.memory.personas import DEFAULT_PERSONA
from agent.memory.scopes import channel_place, guild_scope, readable_scopes, scope_of
from agent.memory.uploads import (
    DOCUMENT_UPLOADS,
    PERSONA_UPLOADS,
    ingest_upload,
    refusal,
    safe_filename,
)
from agent.services import Services
from discord_adapter.commands.cast import CastCommands
from discord_adapter.commands.common import MANAGE
from discord_adapter.replies import reply


async def ingest_attachment(
    services: Services,
    interaction: discord.Interaction,
    file: discord.Attachment,
    allowed: frozenset[str],
    persona: str | None,
    channel: int | None = None,
) -> str:
    name = safe_filename(file.filename)
    refused = refusal(name, file.size, allowed)
    if refused is not None:
        return refused
    await interaction.response.defer(ephemeral=True, thinking=True)
    return await ingest_upload(
        services.personas,
        services.memory,
        FileLimits.from_settings(services.settings),
        name,
        await file.read(),
        scope=scope_of(interaction.guild_id),
        persona=persona,
        channel=channel,
    )


class PersonaCommands(app_commands.Group, name="persona", description="Who Observer is here", guild_only=True):
    """`/persona …`, with the `cast` subgroup (cast.py)."""

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services
        self.add_command(CastCommands(services))

    @app_commands.command(
        name="add", description="Add or update a persona (TOML, Markdown, card JSON/PNG) or SillyTavern World Info"
    )
    @app_commands.describe(where="World Info: for the whole server (default) or only this channel")
    @MANAGE
    async def persona_add(
        self, interaction: discord.Interaction, file: discord.Attachment, where: Literal["server", "channel"] = "server"
    ) -> None:
        channel = interaction.channel_id if where == "channel" else None
        await reply(
            interaction, await ingest_attachment(self.services, interaction, file, PERSONA_UPLOADS, None, channel)
        )

    @app_commands.command(name="list", description="Personas available here")
    async def persona_list(self, interaction: discord.Interaction) -> None:
        personas = self.services.personas
        chosen = await personas.chosen(interaction.guild_id, interaction.channel_id or 0) or DEFAULT_PERSONA
        stored = await personas.listing(readable_scopes(interaction.guild_id, None))
        lines = [
            f"{'▶' if p.card.name == chosen else '•'} **{p.card.name}**"
            f"{' (this server)' if p.scope != 'global' else ''}: {p.card.description.strip()[:90]}"
            for p in stored
        ]
        await reply(interaction, "\n".join(lines) or "No personas yet.")

    @app_commands.command(name="use", description="Choose who speaks in this channel or the whole server")
    @app_commands.describe(
        name="a persona from /persona list",
        where="this channel, or the whole server",
        model="for a character of this channel's cast: the model it speaks with here",
    )
    @MANAGE
    async def persona_use(
        self,
        interaction: discord.Interaction,
        name: str,
        where: Literal["channel", "server"] = "channel",
        model: str | None = None,
    ) -> None:
        assert interaction.guild_id is not None and interaction.channel_id is not None  # guild_only
        place = channel_place(interaction.channel_id) if where == "channel" else guild_scope(interaction.guild_id)
        found = await self.services.personas.find(name, readable_scopes(interaction.guild_id, None))
        if found is None:
            await reply(interaction, f"No persona named {name!r} here; see /persona list.")
            return
        if model is not None:
            said = await self.character_model(interaction.channel_id, interaction.guild_id, found.card.name, model)
            await reply(interaction, said)
            return
        await self.services.personas.choose(place, found.card.name)
        here = "this channel" if where == "channel" else "this server"
        await reply(interaction, f"{found.card.name} now speaks in {here}.")

    async def character_model(self, channel_id: int, guild_id: int | None, name: str, model: str) -> str:
        names = self.services.registry.names_for(guild_id)
        if model not in names:
            return f"No model named {model}; choose one of {', '.join(names)}."
        if not await self.services.casts.set_model(channel_id, name, model):
            return (
                f"{name} is not in this channel's cast (`/persona cast add`); for the channel's model use /model set."
            )
        return f"{name} speaks with {model} in this channel."

    @persona_use.autocomplete("name")
    async def persona_names(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        stored = await self.services.personas.listing(readable_scopes(interaction.guild_id, None))
        names = sorted({p.card.name for p in stored if current.lower() in p.card.name.lower()})
        return [app_commands.Choice(name=n, value=n) for n in names[:25]]


class DatasetCommands(app_commands.Group, name="dataset", description="What Observer knows here", guild_only=True):
    """`/dataset …`: documents the bot draws on in a server."""

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services

    @app_commands.command(name="add", description="Add a document Observer can draw on (Markdown, text, PDF)")
    @app_commands.describe(persona="only for this persona (default: every persona here)")
    @MANAGE
    async def dataset_add(
        self, interaction: discord.Interaction, file: discord.Attachment, persona: str | None = None
    ) -> None:
        await reply(interaction, await ingest_attachment(self.services, interaction, file, DOCUMENT_UPLOADS, persona))

    @app_commands.command(name="list", description="Documents Observer knows in this server")
    @MANAGE
    async def dataset_list(self, interaction: discord.Interaction) -> None:
        found = await asyncio.to_thread(documents, self.services.memory, scope_of(interaction.guild_id))
        lines = [f"• {d.source}: {d.chunks} chunks" for d in found]
        await reply(interaction, "\n".join(lines) or "No documents yet; add one with /dataset add.")

    @app_commands.command(name="archive", description="This server's documents and training data as a zip")
    @MANAGE
    async def dataset_archive(self, interaction: discord.Interaction) -> None:
        from agent.training.archive import server_archive

        await interaction.response.defer(ephemeral=True, thinking=True)
        data, counts = await server_archive(self.services, interaction.guild_id or 0)
        limit = interaction.guild.filesize_limit if interaction.guild is not None else 10 * 1024 * 1024
        if len(data) > limit:
            await reply(
                interaction,
                f"The archive is {len(data) / 1024 / 1024:.1f} MB, over this server's upload limit of "
                f"{limit // 1024 // 1024} MB; on the host, `observer dataset build --out FOLDER` writes the "
                "training data.",
            )
            return
        said = (
            f"{counts['documents']} documents, {counts['sft-train'] + counts['sft-test']} supervised examples, "
            f"{counts['dpo-train'] + counts['dpo-test']} preference pairs, {counts['examples']} uploaded examples."
        )
        file = discord.File(io.BytesIO(data), filename=f"observer-dataset-{interaction.guild_id}.zip")
        quiet = discord.AllowedMentions.none()
        await interaction.followup.send(said, file=file, ephemeral=True, allowed_mentions=quiet)
