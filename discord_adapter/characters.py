"""Characters speak as themselves (issue I): one channel webhook per character, named after it and wearing
its card's picture, so a streamed answer shows the character's name and face. Without Manage Webhooks
the bot says so once per channel and characters speak through it, their name in bold."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import discord

from agent.member_texts import NEEDS_MANAGE_WEBHOOKS
from agent.memory.personas import PersonaCatalog
from agent.memory.scopes import readable_scopes
from discord_adapter.stream import ChannelBudget
from discord_adapter.tolerant import reply_to

log = logging.getLogger(__name__)

RETRY_FORBIDDEN_SECONDS = 60.0  # permission may be granted meanwhile
NO_PINGS = discord.AllowedMentions.none()


class CharacterDesk:
    """Finds or creates each character's webhook in a channel; remembers both outcomes."""

    def __init__(self, client: discord.Client, personas: PersonaCatalog, budget: ChannelBudget) -> None:
        self.client = client  # the webhooks it made before a restart are found by its user
        self.personas = personas
        self.budget = budget
        self._hooks: dict[tuple[int, str], discord.Webhook] = {}
        self._forbidden: dict[int, float] = {}  # channel id → when webhooks were last refused
        self._told: set[int] = set()
        self._locks: dict[int, asyncio.Lock] = {}

    def owns(self, webhook_id: int | None) -> bool:
        return webhook_id is not None and any(h.id == webhook_id for h in self._hooks.values())

    async def webhook(self, channel: Any, name: str) -> discord.Webhook | None:
        """The character's webhook in this channel (a thread uses its parent's); None without permission."""
        home = channel.parent if isinstance(channel, discord.Thread) else channel
        if not isinstance(home, discord.TextChannel | discord.ForumChannel | discord.VoiceChannel):
            return None
        key = (home.id, name)
        if key in self._hooks:
            return self._hooks[key]
        if time.monotonic() - self._forbidden.get(home.id, float("-inf")) < RETRY_FORBIDDEN_SECONDS:
            return None
        async with self._locks.setdefault(home.id, asyncio.Lock()):
            if key in self._hooks:
                return self._hooks[key]
            try:
                hook = await self._find_or_create(home, name)
            except discord.Forbidden:
                self._forbidden[home.id] = time.monotonic()
                await self._explain_once(channel)
                return None
            self._hooks[key] = hook
            return hook

    async def _find_or_create(self, home: Any, name: str) -> discord.Webhook:
        me = self.client.user
        for hook in await home.webhooks():
            if hook.name == name and hook.user is not None and me is not None and hook.user.id == me.id:
                return hook  # made before a restart
        avatar = await self._avatar(home.guild.id, name)
        log.info("creating a webhook for character %s in channel %s", name, home.id)
        return await home.create_webhook(
            name=name, avatar=avatar, reason="Observer: a character of this channel's cast"
        )

    async def _avatar(self, guild_id: int, name: str) -> bytes | None:
        stored = await self.personas.find(name, readable_scopes(guild_id, None))
        return stored.card.avatar if stored is not None else None

    async def _explain_once(self, channel: Any) -> None:
        if channel.id in self._told:
            return
        self._told.add(channel.id)
        log.warning("no Manage Webhooks in channel %s: characters speak through the bot", channel.id)
        try:
            async with self.budget.turn(channel.id):
                await channel.send(NEEDS_MANAGE_WEBHOOKS, allowed_mentions=NO_PINGS)
        except discord.HTTPException as exc:
            log.warning("could not explain the missing permission in %s: %s", channel.id, exc)


class CharacterSink:
    """A streamed answer in a character's voice: its webhook's messages, or the bot's with its name."""

    def __init__(self, desk: CharacterDesk, message: discord.Message, name: str) -> None:
        self.desk = desk
        self.message = message
        self.name = name
        self.prefix = f"**{name}**: "

    async def send(self, content: str, first: bool) -> Any:
        channel = self.message.channel
        hook = await self.desk.webhook(channel, self.name)
        if hook is None:
            text = self.prefix + content
            if first:
                return (await reply_to(self.message, text, mention_author=False, allowed_mentions=NO_PINGS))[0]
            return await channel.send(text, allowed_mentions=NO_PINGS)
        thread = channel if isinstance(channel, discord.Thread) else discord.utils.MISSING
        return await hook.send(content, wait=True, allowed_mentions=NO_PINGS, thread=thread)

    async def edit(self, handle: Any, content: str) -> None:
        if isinstance(handle, discord.WebhookMessage):
            await handle.edit(content=content, allowed_mentions=NO_PINGS)
        else:
            await handle.edit(content=self.prefix + content, allowed_mentions=NO_PINGS)

    async def delete(self, handle: Any) -> None:
        await handle.delete()
