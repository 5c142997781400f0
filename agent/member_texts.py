"""Every line a member reads that the bot writes itself (not the model): apologies, refusals, notes.

In one place so they read alike and can be changed (or translated) without hunting through doors."""

from __future__ import annotations

BUDGET_REPLY = (
    "I've reached today's spending limit for this server, so I can't answer right now. I'll be back tomorrow."
)
BUSY_REPLY = "I'm still working through earlier messages here. Please ask again in a moment."
FAILED_REPLY = "Sorry, something went wrong on my side while answering this. Please ask again."
SLOW_DOWN = (
    "You're sending messages faster than I can answer them, so I'll skip these. Give me a moment, then ask again."
)
NOT_HERE = "You can't ask me here: this server's access settings don't include you or this channel."
COLLECT_RUNNING = "A collect is already running in this channel; its result will show there when it ends."
ALREADY_ANSWERED = "This request was already answered or has expired."
QUOTA_OFF = "Replies are turned off for you here, so I'll sit this one out."
NEEDS_MANAGE_WEBHOOKS = (
    "-# I need the Manage Webhooks permission in this channel so characters can speak with their own names "
    "and faces; until then they speak through me."
)
EXPIRED_NOTE = "\n-# (interrupted by a restart; ask again if you still need an answer)"


def cannot_answer(reason: str) -> str:
    """No model call could be made (over budget, nothing can take the message)."""
    return BUDGET_REPLY if "budget" in reason else f"Sorry, I can't answer that: {reason}."


def could_not_answer(error: str) -> str:
    """The model call failed before any text arrived."""
    return f"Sorry, I couldn't answer that: {error}"


def cut_short(error: str) -> str:
    """Appended to a partial answer when the model failed half-way."""
    return f"\n-# (cut short: {error})"


def recording_too_long(limits: str) -> str:
    return f"That recording is too long for me to listen to (limit: {limits})."


def cannot_listen(filename: str, problem: str) -> str:
    return f"I couldn't listen to {filename}: {problem}."


def cannot_download(filename: str) -> str:
    return f"I couldn't download {filename}; please try again."


def over_quota_note(used: str, wait: str) -> str:
    """A member over a quota, once per window: what they used and when they may ask again."""
    return f"You've reached your limit here ({used}), so I'll sit this one out. You can ask again in about {wait}."
