"""Proxied members (PluralKit, Tupperbox): a member's message is deleted and reposted within seconds
through the proxy bot's webhook, under the name of the member's system member or character.

The repost is the member speaking, not "a bot": it is recorded as theirs, and it is answered once —
the original is already being answered, and that answer goes to the repost (see `tolerant`)."""

from __future__ import annotations

from collections import OrderedDict, deque

import discord

from agent.events import Event
from discord_adapter.inbox import Inbox

# Proxy tags (`[text]`, `pk;text`, `Name: text`) are taken off the repost: at most this many characters.
TAG_ROOM = 64


def _same_words(original: str, repost: str) -> bool:
    original, repost = original.strip(), repost.strip()
    if not repost:
        return not original
    return repost in original and len(original) - len(repost) <= TAG_ROOM


class Proxies:
    """Recent members' messages per channel, and which were reposted by a proxy."""

    def __init__(self, window_s: float = 5.0, per_channel: int = 50, keep: int = 1000) -> None:
        self.window_s = window_s
        self.per_channel = per_channel
        self.keep = keep
        self._recent: dict[int, deque[discord.Message]] = {}
        self._reposts: OrderedDict[int, discord.Message] = OrderedDict()

    def saw(self, message: discord.Message) -> None:
        """A member's message (not a bot's): a proxy may repost it in a moment."""
        recent = self._recent.setdefault(message.channel.id, deque(maxlen=self.per_channel))
        recent.append(message)

    def match(self, repost: discord.Message) -> discord.Message | None:
        """The member's message a webhook message reposts: same words (less proxy tags), same channel,
        sent within `window_s` before it. Each original matches one repost."""
        if repost.webhook_id is None:
            return None
        for original in reversed(self._recent.get(repost.channel.id, ())):
            age = (repost.created_at - original.created_at).total_seconds()
            if age > self.window_s:
                break
            if age < 0 or original.id in self._reposts:
                continue
            same_files = [a.filename for a in original.attachments] == [a.filename for a in repost.attachments]
            if _same_words(original.content, repost.content) and (repost.content.strip() or same_files):
                self._reposts[original.id] = repost
                while len(self._reposts) > self.keep:
                    self._reposts.popitem(last=False)
                return original
        return None

    def repost_of(self, message_id: int) -> discord.Message | None:
        return self._reposts.get(message_id)


async def take_repost(proxies: Proxies, inbox: Inbox, message: discord.Message, event: Event) -> bool:
    """A proxy's repost of a member's message (`event`: as it arrived): arrives as the member's words,
    skipped (never run as a bot's message, never answered a second time; kept out of the record as the
    member's own message would be). False: not a repost we know of."""
    original = proxies.match(message)
    if original is None:
        return False
    event = event.model_copy(
        update={
            "author_id": original.author.id,
            "author_is_bot": False,
            "author_name": original.author.display_name,  # the account's name stays the member's
            "shown_name": message.author.display_name,  # this line is shown under the proxied member's
        }
    )
    await inbox.arrive_as(event, "skipped")  # a record that is away writes it once back
    return True
