"""Where a streamed answer is written: as a reply in a channel, or into an interaction's response."""

from __future__ import annotations

from typing import Any

import discord


class ReplySink:
    """The first chunk replies to the member's message (pinging only them); the rest follow in the channel."""

    def __init__(self, message: discord.Message) -> None:
        self.message = message

    async def send(self, content: str, first: bool) -> Any:
        if first:
            return await self.message.reply(content, mention_author=True)
        return await self.message.channel.send(content)

    async def edit(self, handle: Any, content: str) -> None:
        await handle.edit(content=content)

    async def delete(self, handle: Any) -> None:
        await handle.delete()


class InteractionSink:
    """A deferred interaction: the original response, then follow-ups (ephemeral or not)."""

    def __init__(self, interaction: discord.Interaction, ephemeral: bool) -> None:
        self.interaction = interaction
        self.ephemeral = ephemeral

    async def send(self, content: str, first: bool) -> Any:
        if first:
            await self.interaction.edit_original_response(content=content)
            return None
        return await self.interaction.followup.send(content, ephemeral=self.ephemeral, wait=True)

    async def edit(self, handle: Any, content: str) -> None:
        if handle is None:
            await self.interaction.edit_original_response(content=content)
        else:
            await handle.edit(content=content)

    async def delete(self, handle: Any) -> None:
        if handle is not None:
            await handle.delete()
