"""Every line a member reads that the bot writes itself (not the model): apologies, refusals, notes.

In one place so they read alike and can be changed (or translated) without hunting through doors."""

from __future__ import annotations

import re
from typing import Literal

from agent.errors import ErrorCode

Capped = Literal["length", "time"]  # a reply stopped at its model's max_output_tokens, or max_reply_seconds

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
NEEDS_THREAD_PERMISSIONS = (
    "-# Threads are on here, but I need the Create Public Threads and Send Messages in Threads permissions "
    "to open them, so I answered inline. An admin can grant them, or turn threads off with /observer threads."
)
NEEDS_MANAGE_WEBHOOKS = (
    "-# I need the Manage Webhooks permission in this channel so characters can speak with their own names "
    "and faces; until then they speak through me."
)
THINKING = "thinking…"  # shown while a reasoning model thinks, until its answer starts
# The record would not take the message (database locked, disk full): kept in memory, answered later.
# The answer replaces this line when it comes.
RECORD_DELAYED_NOTE = "I can't save messages just now, so your question waits with me; I'll answer here once I can."
# The run failed only because a dependency (database, Chroma) was down; the answer replaces this line.
DEPENDENCY_DOWN_NOTE = "Part of my memory is unreachable right now; I'll answer here as soon as it's back."
EXPIRED_NOTE = "\n-# (interrupted by a restart; ask again if you still need an answer)"


# A failed run, by its error code (agent/errors.py RunError, the kinds of agent/models/failures.py):
# never the server's own words, which may carry a key; those go to the log, redacted, and to
# /observer status for admins.
FAILURE_TEXTS: dict[ErrorCode, str] = {
    "busy": "All my models are busy right now. Please ask again in a minute.",
    "unavailable": "I can't reach my model right now. Please ask again in a little while.",
    "timeout": "My model took too long to answer. Please ask again in a moment.",
    "invalid_response": "My model sent something I couldn't read. An admin can find the details in the log.",
    "misconfigured": (
        "My model is misconfigured, so I can't answer right now. An admin can see why in /observer status."
    ),
    "too_long": "Your message is too long for me to read in one go. Please send a shorter one (or split it).",
    "refused": "My model refused this request. Please rephrase it, or ask an admin to check the log.",
    "over_budget": BUDGET_REPLY,
    "only_reasoning": (
        "My model spent its whole answer budget thinking and wrote no answer. Please ask again; a simpler "
        "question may help."
    ),
    "empty": "My model returned an empty answer. Please ask again.",
    "failed": FAILED_REPLY,
}
# Appended to a reply that stopped at a bound; shown by the door, never stored as the model's words.
CAPPED_TIME = "\n-# (cut: took longer than {limit})"
CAPPED_LENGTH = "\n-# (cut: reached the length limit)"


def failure_text(kind: ErrorCode | None) -> str:
    return FAILURE_TEXTS.get(kind or "failed", FAILED_REPLY)


def cannot_answer(kind: ErrorCode | None) -> str:
    """No model call could be made (over budget, too long, nothing can take the message)."""
    return failure_text(kind)


def could_not_answer(kind: ErrorCode | None) -> str:
    """The model call failed before any text arrived."""
    return failure_text(kind)


# Why a reasoning model gave no answer (it only thought), by how its reply ended.
ONLY_REASONING = {
    "length": "the model spent its whole answer budget thinking",
    "time": "the model spent its whole time limit thinking",
    "stop": "the model thought but wrote no answer",
}


def no_answer(model: str | None, reasoning_only: str | None) -> str:
    """The model's reply held no answer: the cause, when it only reasoned."""
    return ONLY_REASONING.get(reasoning_only or "", f"model {model!r} returned an empty answer")


def cut_short(kind: ErrorCode | None) -> str:
    """Appended to a partial answer when the model failed half-way."""
    reason = {"timeout": "my model stopped answering", "busy": "my model is overloaded"}.get(
        kind or "", "my model stopped"
    )
    return f"\n-# (cut short: {reason})"


def capped_note(capped: Capped | None, seconds: float | None = None) -> str:
    """A reply that stopped at max_reply_seconds ("time") or max_output_tokens ("length")."""
    if capped == "time":
        return CAPPED_TIME.format(limit=f"{seconds:g} s" if seconds else "the time limit")
    if capped == "length":
        return CAPPED_LENGTH
    return ""


def usage_footer(model: str, tokens_in: int, tokens_out: int, cost_usd: float) -> str:
    """The subtext line under an answer where a server turned it on: `-# chat · 1,234 tokens · $0.0021`
    (the answering call's model, tokens read and written, and cost)."""
    if cost_usd <= 0:
        cost = "no cost"
    elif cost_usd < 0.0001:
        cost = "< $0.0001"
    else:
        cost = f"${cost_usd:.4f}" if cost_usd < 0.01 else f"${cost_usd:.2f}"
    return f"-# {model} · {tokens_in + tokens_out:,} tokens · {cost}"


# The door's notes and the usage footer, at the end of a bot message (the footer may be a part alone).
_NOTE_LINE = re.compile(
    r"(?:(?:^|\n)-# (?:\((?:cut|cut short|interrupted by a restart)[^\n]*\)|[^\n]* · [\d,]+ tokens · [^\n]*))+\s*$"
)


def without_notes(text: str) -> str:
    """A bot message as the models should read it: without the notes the door appended."""
    return _NOTE_LINE.sub("", text)


def recording_too_long(limits: str) -> str:
    return f"That recording is too long for me to listen to (limit: {limits})."


def cannot_listen(filename: str, problem: str) -> str:
    return f"I couldn't listen to {filename}: {problem}."


def cannot_download(filename: str) -> str:
    return f"I couldn't download {filename}; please try again."


def over_quota_note(used: str, wait: str) -> str:
    """A member over a quota, once per window: what they used and when they may ask again."""
    return f"You've reached your limit here ({used}), so I'll sit this one out. You can ask again in about {wait}."


def persona_file_added(name: str, summary: str, warnings: list[str], shown: int = 5) -> str:
    """/persona add, /dataset add: what was added, and the optional fields read with their defaults."""
    text = f"Added {name}: {summary}."
    if warnings:
        lines = "\n".join(f"- {w}" for w in warnings[:shown])
        more = f"\n- …and {len(warnings) - shown} more" if len(warnings) > shown else ""
        text += f"\nRead with defaults (the file still loaded):\n{lines}{more}"
    return text


# The member edited their question while it was being answered: the answer is to the text as it was.
ANSWERED_BEFORE_EDIT = "\n-# (you edited your message while I was answering: this answers what it said before)"


# /observer summary (agent/summary.py). Times are Discord timestamps (`<t:…>`), shown in the member's
# own locale and time zone.
SUMMARY_CANNOT_READ = "You can't read this channel's history, so I can't summarise it for you."


def summary_nothing(channel: str, since_ts: int) -> str:
    return f"Nothing was said in #{channel} since <t:{since_ts}:f>."


def summary_heading(channel: str, since_ts: int, covered: int) -> str:
    return f"**#{channel}** since <t:{since_ts}:f> · {covered:,} message{'s' if covered != 1 else ''}"


def summary_left_out(left_out: int, more: bool, from_ts: int | None) -> str:
    """The oldest messages did not fit the model's window (or the read's bound): said, never hidden."""
    count = f"{left_out:,}{'+' if more else ''}"
    start = f"; this covers from <t:{from_ts}:f>" if from_ts is not None else ""
    return f"-# The oldest {count} message{'s' if left_out != 1 or more else ''} did not fit{start}."
