"""Platform-neutral input of the reply graph: one incoming chat message."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from agent.attachments.render import render_attachments
from agent.ids import new_snowflake, stable_id
from agent.rights import MemberRights


class Attachment(BaseModel):
    filename: str
    content_type: str | None = None
    size: int = 0
    url: str | None = None
    is_voice: bool = False
    duration_s: float | None = None
    # What was read from a text file or PDF (within the caps), and a note the model reads with it
    # ("[message.txt: first 20,000 of 51,234 characters]", or why it was not read). Stored with the
    # attachment, so later turns see it without downloading again.
    text: str | None = None
    note: str | None = None


class LinkedMessage(BaseModel):
    """A message a member linked to (agent/links.py), as the door found it: who wrote it, when, where,
    its text and attachments (text files read); or `not_read`, a short reason the model reads instead,
    which never names a place the member cannot see."""

    author: str = ""
    created_at: datetime | None = None
    channel_name: str | None = None
    text: str = ""
    attachments: list[Attachment] = Field(default_factory=list)
    not_read: str | None = None

    def describe_attachments(self) -> str:
        return render_attachments((a.filename, a.text, a.note) for a in self.attachments)


class Event(BaseModel):
    """A message as the graph sees it, whichever door it came through."""

    platform: str = "console"
    message_id: int
    guild_id: int | None = None
    guild_name: str | None = None
    channel_id: int
    channel_name: str = ""
    is_dm: bool = False
    author_id: int
    author_name: str
    author_is_bot: bool = False
    # The name this message was shown under, when not the author's (a proxied member's repost).
    shown_name: str | None = None
    text: str = ""
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    reply_to_id: int | None = None
    reply_to_bot: bool = False
    mentions_bot: bool = False
    attachments: list[Attachment] = Field(default_factory=list)
    bot_user_id: int | None = None
    # How the door wrote the bot's own mention into `text` ("@Observer"): left out of memory searches,
    # where it only costs embedding time and pulls toward entries that name the bot.
    bot_mention: str = ""
    # The prefix command (`!chat`, `!ask`) that addressed the bot, already taken out of `text`.
    prefix: str = ""
    # In a thread started from a message: that message, which frames the whole thread.
    thread_starter_id: int | None = None
    # In a conversation thread the bot follows (one it opened for a question, a forum post where threads
    # are on; not archived or locked): the thread is the conversation, every message in it is to the bot.
    in_followed_thread: bool = False
    # What the author may do and where this was said (roles, readable channels, parents, Manage Server),
    # built once by the door; every check reads only this. Left out: the defaults fail closed.
    rights: MemberRights = Field(default_factory=MemberRights)
    # A character's line handed back to the graph so another may chime in (issue I): how many
    # character-to-character turns led here since a member spoke.
    chain_depth: int = 0
    # Messages the member linked to (Discord message links), read by the door where the member may read
    # them, in the order written; `links_left_out`: links beyond the bound, not read.
    linked: list[LinkedMessage] = Field(default_factory=list)
    links_left_out: int = 0
    # Seen only by its author (a private `/chat`): stored, but read into no one's context or summary.
    private: bool = False

    def describe_attachments(self) -> str:
        return render_attachments((a.filename, a.text, a.note) for a in self.attachments)

    def text_for_model(self) -> str:
        """What the member said to the bot, without the bot's own mention (which every question shares
        and which small models copy into their answers)."""
        return without_mention(self.text, self.bot_mention)


# Who decided whether to answer: a cheap rule (ingest, a cast's), the judge, a fallback when the judge
# failed, or transcribe refusing a recording.
DecisionSource = Literal["rule", "judge", "fallback", "transcribe"]
# What a retrieved snippet is: the persona's own text, world info (lore), stored knowledge, or a
# member's guidance (a correction).
SnippetKind = Literal["persona", "lore", "knowledge", "guidance"]


class Decision(BaseModel):
    """Whether and how to answer. `source` tells who decided: a cheap rule, the judge, or a fallback."""

    respond: bool
    model: str | None = None
    voice: bool = False
    # Whether the answer may use tools. Only the judge says "just talk"; every other path offers them.
    act: bool = True
    # In a channel with a cast: which character speaks (None: the bot itself, or nobody).
    speaker: str | None = None
    reason: str = ""
    source: DecisionSource = "rule"
    # How the judge's JSON was obtained from the server (json_schema, json_mode, function_calling, grammar).
    method: str | None = None


def without_mention(text: str, mention: str) -> str:
    """`text` without the bot's `mention` (e.g. "@Observer"), which every question shares and small models
    copy into their answers; empty when the message was only the mention."""
    if not mention:
        return text.strip()
    # Not part of a longer ASCII name (@Observer2 is someone else), but glued to Japanese or Chinese
    # text it is still the mention: "@Observer日本の首都は？" is common without a space. Written as
    # Discord's markup (<@Observer>, in the console) it goes with its brackets.
    pattern = rf"<?{re.escape(mention)}(?![A-Za-z0-9_])>?[,:、，：]?\s*"
    return re.sub(pattern, "", text, flags=re.IGNORECASE).strip()


class ChatLine(BaseModel):
    """One message of the window the models read."""

    message_id: int
    author: str
    text: str
    is_bot: bool = False
    created_at: datetime | None = None


class Snippet(BaseModel):
    """A retrieved piece of persona or memory text."""

    text: str
    source: str
    score: float
    kind: SnippetKind = "persona"
    id: str = ""


def event_from_names(
    platform: str,
    *,
    text: str,
    author: str,
    channel: str,
    bot_name: str,
    guild: str = "console",
    bot_user_id: int | None = None,
    **extra: Any,
) -> Event:
    """A message typed by name (console, replay, Studio): stable ids from the names, a channel named
    `@someone` is a direct message, and `@<bot name>` in the text mentions the bot. Typed by the door's
    operator, so it carries the operator's rights unless `rights` says otherwise."""
    is_dm = channel.startswith("@")
    return Event(
        platform=platform,
        message_id=new_snowflake(),
        guild_id=None if is_dm else stable_id("guild", guild),
        guild_name=None if is_dm else guild,
        channel_id=stable_id("channel", channel),
        channel_name=channel,
        is_dm=is_dm,
        author_id=stable_id("user", author),
        author_name=author,
        text=text,
        mentions_bot=f"@{bot_name.lower()}" in text.lower(),
        bot_user_id=bot_user_id,
        bot_mention=f"@{bot_name}",
        **{"rights": MemberRights.of_operator(), **extra},
    )
