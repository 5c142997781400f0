"""Where a streamed answer is written: as a reply in a channel, or into an interaction's response."""

from __future__ import annotations

from typing import Any

import discord

from discord_adapter.tolerant import MENTION_ROOM, Reposts, reply_to


class ReplySink:
    """The first chunk replies to the member's message (pinging only them); the rest follow in the channel.

    Should the member's message be gone (deleted, or reposted by a proxy bot), the first chunk replies
    to the repost, or is a plain message starting with the member's mention (`reserve` keeps room for it)."""

    reserve = MENTION_ROOM

    def __init__(self, message: discord.Message, reposts: Reposts | None = None) -> None:
        self.message = message
        self.reposts = reposts
        self._first_id: int | None = None
        self._prefix = ""

    async def send(self, content: str, first: bool) -> Any:
        if first:
            sent, self._prefix = await reply_to(self.message, content, reposts=self.reposts)
            self._first_id = sent.id
            return sent
        return await self.message.channel.send(content)

    async def edit(self, handle: Any, content: str) -> None:
        if self._prefix and getattr(handle, "id", None) == self._first_id:
            content = self._prefix + content
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
