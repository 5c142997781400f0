"""Discord message links in a member's message, and how the messages they point at read in a prompt.

A link is `https://discord.com/channels/GUILD/CHANNEL/MESSAGE` (also `ptb.`, `canary.`, `www.` and
`discordapp.com`; `@me` instead of GUILD for a direct message). What counts as a link:

- a bare URL, a URL in `<…>` (Discord's "no preview" form: still a link the member shares), a masked
  link `[text](url)` and a link inside a spoiler all count;
- a URL inside inline code or a code block does not: Discord shows it as text, not as a link (logs,
  examples, configuration pasted for others to read), so it is not read either.

The door (which knows who may read what) fetches the messages; this module only finds and renders.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from agent.events import LinkedMessage

# Discord's ids are positive 64-bit signed integers (the record's columns too).
_LARGEST = 2**63 - 1
_LINK = re.compile(
    r"https?://(?:(?:www|ptb|canary)\.)?discord(?:app)?\.com/channels/"
    r"(?P<guild>\d{1,20}|@me)/(?P<channel>\d{1,20})/(?P<message>\d{1,20})"
    r"(?![\w/])",  # not a longer id, nor a path going on (…/123/456/789/extra is no message link)
    re.IGNORECASE,
)
# Code is left out before searching: a fenced block, then inline code (unclosed backticks are plain text).
_CODE = re.compile(r"```.*?```|``[^`].*?``|`[^`\n]+`", re.DOTALL)


@dataclass(frozen=True)
class MessageLink:
    """One link: `guild_id` None for a direct message (`@me`)."""

    guild_id: int | None
    channel_id: int
    message_id: int


def find_links(text: str) -> list[MessageLink]:
    """The message links in `text`, in order, each message once; none from code."""
    found: list[MessageLink] = []
    for match in _LINK.finditer(_CODE.sub(" ", text)):
        guild = match.group("guild")
        ids = [int(match.group("channel")), int(match.group("message"))]
        if guild != "@me":
            ids.insert(0, int(guild))
        if any(not 0 < value <= _LARGEST for value in ids):
            continue
        link = MessageLink(None if guild == "@me" else ids[0], ids[-2], ids[-1])
        if all(seen.message_id != link.message_id for seen in found):
            found.append(link)
    return found


def render_linked(linked: list[LinkedMessage], left_out: int = 0, chars: int = 1500) -> str:
    """The linked messages as the model reads them after the member's message: each framed and numbered
    in the order the member wrote the links, cut to `chars`; one short line for each that was not read."""
    parts: list[str] = []
    for n, item in enumerate(linked, 1):
        if item.not_read is not None:
            parts.append(f"[link {n}: {item.not_read}]")
            continue
        when = _when(item.created_at)
        where = f" in #{item.channel_name}" if item.channel_name else ""
        body = item.text.strip()
        if item.attachments:
            body = f"{body} {item.describe_attachments()}".strip()
        if len(body) > chars:
            body = body[:chars].rstrip() + f" … [cut: first {chars:,} of {len(body):,} characters]"
        parts.append(f"[link {n}: a message by {item.author}{where}, {when}]\n{body}\n[end of link {n}]")
    if left_out:
        parts.append(f"[{left_out} more message link{'s' if left_out > 1 else ''} not read]")
    return "\n".join(parts)


def _when(at: datetime | None) -> str:
    if at is None:
        return "at an unknown time"
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)  # the record keeps UTC
    return at.strftime("%Y-%m-%d %H:%M UTC")
