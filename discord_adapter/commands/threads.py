"""`/observer threads state:on|auto|off`: automatic threads in this channel (agent/threads.py)."""

from __future__ import annotations

import discord

from agent.memory.record import Record
from agent.threads import WARNED_KEY
from discord_adapter.commands.common import interaction_event
from discord_adapter.threads import may_open_threads

SAID = {
    "on": "questions to me open a thread named after them; I answer there, and follow the thread until it is archived",
    "auto": (
        "when others spoke here in the last 10 minutes, questions to me open a thread named after them; "
        "in a quiet channel I answer inline"
    ),
    "off": "I answer inline, without threads",
}


async def set_threads(record: Record, interaction: discord.Interaction, state: str) -> str:
    """Store the setting on the channel (a forum's, when run in one of its posts) and say what it does,
    and which permissions the bot still lacks to do it."""
    channel = interaction.channel
    # Run inside a thread or a forum post, the setting is its parent's (a forum has no messages of its own).
    target = channel.parent if isinstance(channel, discord.Thread) and channel.parent is not None else channel
    event = interaction_event(interaction, "")
    if target is not None and target is not channel:
        event = event.model_copy(update={"channel_id": target.id, "channel_name": getattr(target, "name", "")})
    await record.ensure_channel(event)
    # A fresh choice: a missing permission is told again, once.
    await record.update_channel_settings(
        event.channel_id, threads=None if state == "off" else state, **{WARNED_KEY: None}
    )
    forum = isinstance(target, discord.ForumChannel)
    what = (
        "every post is a conversation: I answer it and its follow-ups, until it is archived"
        if forum and state != "off"
        else SAID[state]
    )
    text = f"#{event.channel_name}: {what}."
    if state != "off" and not forum and not may_open_threads(target):
        text += " I can't open threads here yet: grant me Create Public Threads and Send Messages in Threads."
    if state != "off" and forum and target is not None:
        perms = target.permissions_for(target.guild.me)  # type: ignore[union-attr]
        if not perms.send_messages_in_threads:
            text += " I can't answer in posts yet: grant me Send Messages in Threads."
    return text
