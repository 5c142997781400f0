"""A member's rights from discord.py objects: the one function every Discord door input goes through
(messages, slash commands, button presses, recovery's refetched messages)."""

from __future__ import annotations

from typing import Any

import discord

from agent.rights import MemberRights


def channel_parents(channel: Any) -> list[int] | None:
    """A thread's channel and the category above (access lists name either); None: not known here."""
    parents: list[int] = []
    if isinstance(channel, discord.Thread):
        if not channel.parent_id:
            return None
        parents.append(channel.parent_id)
        channel = channel.parent
        if channel is None:  # the parent is not cached: its category cannot be read
            return None
    if not isinstance(channel, discord.abc.GuildChannel):
        return None
    if channel.category_id:
        parents.append(channel.category_id)
    return parents


def rights_of(user: discord.abc.User, guild: discord.Guild | None, channel: Any) -> MemberRights:
    """What `user` may do where `channel` is, from Discord's permissions. Anything not known from the
    cache (a member object without roles, an uncached channel) fails closed."""
    if guild is None:
        return MemberRights(places_known=True)  # a direct message: that conversation only
    if isinstance(channel, discord.PartialMessageable) or channel is None:
        channel = guild.get_channel_or_thread(getattr(channel, "id", 0) or 0)
    parents = channel_parents(channel)
    rights = MemberRights(channel_parents=parents or [], places_known=parents is not None)
    if not isinstance(user, discord.Member):
        return rights  # a webhook, or a member Discord did not describe: no role, no channel beyond this
    readable = {c.id for c in guild.channels if c.permissions_for(user).read_messages}
    # Threads follow their parent channel (private threads: only those the member was shown in).
    readable |= {t.id for t in guild.threads if t.parent_id in readable and not t.is_private()}
    return rights.model_copy(
        update={
            "role_ids": [role.id for role in user.roles if not role.is_default()],
            "readable_channel_ids": sorted(readable),
            "can_manage": user.guild_permissions.manage_guild,
        }
    )


def may_read_history(user: discord.abc.User, channel: Any, here: Any) -> bool:
    """Whether `user` may read the messages of `channel` (a linked message's): View Channel and Read
    Message History there, from Discord's permissions (a thread's from its parent). A private thread only
    where it is asked (`here`): who was added to one is not known from the cache. Fails closed."""
    if not isinstance(user, discord.Member) or not isinstance(channel, discord.abc.Messageable):
        return False
    if not isinstance(channel, discord.abc.GuildChannel | discord.Thread) or channel.guild.id != user.guild.id:
        return False
    if isinstance(channel, discord.Thread):
        if channel.is_private() and channel.id != getattr(here, "id", None):
            return False
        if channel.parent is None:
            return False  # the parent is not cached: its permissions cannot be read
    perms = channel.permissions_for(user)
    return perms.read_messages and perms.read_message_history


THREADS = (discord.ChannelType.public_thread, discord.ChannelType.private_thread, discord.ChannelType.news_thread)


def may_send(perms: discord.Permissions, channel: Any) -> bool:
    """View and send in `channel` with `perms`: Send Messages in Threads in a thread, else Send Messages."""
    in_thread = isinstance(channel, discord.Thread) or getattr(channel, "type", None) in THREADS
    return bool(perms.view_channel and (perms.send_messages_in_threads if in_thread else perms.send_messages))


def message_rights(message: discord.Message) -> MemberRights:
    # Its author wrote it there, so they could send there.
    return rights_of(message.author, message.guild, message.channel).model_copy(update={"can_post": True})


def interaction_rights(interaction: discord.Interaction) -> MemberRights:
    """A slash command's or a button press's member. Manage Server is what Discord resolved for this
    member in this channel (sent with every interaction); the rest as for a message."""
    if interaction.guild_id is None:
        return MemberRights(places_known=True, can_post=True)
    can_manage = interaction.permissions.manage_guild
    # What Discord resolved for this member in this channel (overwrites, a thread's own right).
    can_post = may_send(interaction.permissions, interaction.channel)
    guild = interaction.guild
    if guild is None:
        # A server this process does not have cached (or a user-installed app): nothing else is known.
        return MemberRights(can_manage=can_manage, can_post=can_post)
    channel = guild.get_channel_or_thread(interaction.channel_id or 0) or interaction.channel
    return rights_of(interaction.user, guild, channel).model_copy(
        update={"can_manage": can_manage, "can_post": can_post}
    )
