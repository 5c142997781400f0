"""Platform-neutral input of the reply graph: one incoming chat message."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, Field


class Attachment(BaseModel):
    filename: str
    content_type: str | None = None
    size: int = 0
    url: str | None = None
    is_voice: bool = False
    duration_s: float | None = None


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
    text: str = ""
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    reply_to_id: int | None = None
    reply_to_bot: bool = False
    mentions_bot: bool = False
    attachments: list[Attachment] = Field(default_factory=list)
    bot_user_id: int | None = None
    # In a thread started from a message: that message, which frames the whole thread.
    thread_starter_id: int | None = None

    def describe_attachments(self) -> str:
        return " ".join(f"[attachment: {a.filename}]" for a in self.attachments)


class Decision(BaseModel):
    """Whether and how to answer. `source` tells who decided: a cheap rule, the judge, or a fallback."""

    respond: bool
    model: str | None = None
    voice: bool = False
    reason: str = ""
    source: str = "rule"
    # How the judge's JSON was obtained from the server (json_schema, json_mode, function_calling, grammar).
    method: str | None = None


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
    kind: str = "persona"  # persona | lore | knowledge | guidance
    id: str = ""
