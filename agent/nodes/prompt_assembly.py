"""The messages a reply model reads: the system prompt, as much recent context as fits, the member's
message, and this run's tool turns. Token counts use the model's own tokenizer where it has one."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from agent.events import ChatLine, Event, without_mention
from agent.links import render_linked
from agent.memory.recall import render_memory
from agent.memory.record import Record
from agent.models.config import ModelSpec
from agent.models.tokenizers import Counter
from agent.models.tokens import approx_tokens, shorten_middle
from agent.prompts import PromptLibrary
from agent.state import State

# What an image costs in a prompt, roughly (OpenAI's low-detail price), when fitting the window.
IMAGE_TOKENS = 85


def _as_message(
    line: ChatLine, bot_name: str, speaker: str | None = None, *, labelled: bool = True, mention: str = ""
) -> BaseMessage:
    if speaker is not None:
        # A cast: only the speaker's own lines are its turns; the other characters talk like members.
        # (No `name`: OpenAI allows only ASCII letters, digits, _ and - there, and names may be ミカ.)
        if line.is_bot and line.author == speaker:
            return AIMessage(content=line.text)
        return HumanMessage(content=f"{line.author}: {line.text}")
    if line.is_bot:
        return AIMessage(content=line.text, name=bot_name)
    # Read as the message being answered is: without the bot's mention, and labelled with its author
    # only when more than one member talks (a label a small model would otherwise learn to write).
    text = line.text
    if mention and mention.lower() in text.lower():
        text = without_mention(text, mention) or text
    return HumanMessage(content=f"{line.author}: {text}" if labelled else text)


def _several_members(context_lines: list[ChatLine], event: Event) -> bool:
    return any(not line.is_bot and line.author != event.author_name for line in context_lines)


def _wordless(event: Event) -> str:
    """What a message with no words of its own stands for. A bare ping is a hello; a bare ping in reply
    to a message asks about that message. ("(sent no text)" had small models refuse: "I can't assist".)"""
    if event.attachments:
        return ""  # the attachments speak for it
    if event.reply_to_id is not None:
        return "(a mention with no text, in reply to an earlier message in this chat: respond to that message)"
    return "(a mention with no text: they are saying hello)"


def _images(event: Event) -> list[str]:
    return [a.url for a in event.attachments if a.url and (a.content_type or "").startswith("image/")]


def build_messages(
    system: str,
    context_lines: list[ChatLine],
    event: Event,
    spec: ModelSpec,
    bot_name: str,
    context_budget: int | None = None,
    count: Counter = approx_tokens,
    tool_turns: Sequence[BaseMessage] = (),
    speaker: str | None = None,
    examples: Sequence[tuple[str, str]] = (),
    link_chars: int = 1500,
) -> tuple[list[BaseMessage], int]:
    """System prompt, the persona's example messages, as much recent context as fits (newest kept), and
    the message being answered.

    Counts with the model's tokenizer. Images go to vision models as image inputs; other models
    read a note that an image was there. This run's tool turns (calls and results) follow the message.
    `examples`: ("user" | "char", text) turns shown before the chat; all of them, if they fit in half of
    what the message leaves, else none (a cut example teaches a cut answer).
    The messages the member linked to follow their message, each cut to `link_chars`.
    Returns the messages and how many context lines were dropped.
    """
    turns_cost = sum(count(str(m.content)) + count(str(getattr(m, "tool_calls", ""))) + 4 for m in tool_turns)
    budget = spec.context_window - spec.max_output_tokens - count(system) - 16 - turns_cost
    text = event.text_for_model() or _wordless(event)
    images = _images(event) if spec.vision else []
    if event.attachments:
        text = f"{text} {event.describe_attachments()}".strip()
    if event.linked or event.links_left_out:
        text = f"{text}\n\n{render_linked(event.linked, event.links_left_out, link_chars)}"
    # The member being answered is named in the system prompt; their message is theirs alone, with no
    # `name:` label a small model would learn to write back (a cast's characters do need the label).
    # The message comes before history: it may take three quarters of what is left; history the rest.
    body = shorten_middle(text, max(budget * 3 // 4, 64))
    if speaker is not None:
        body = f"{event.author_name}: {body}"
    budget -= count(body) + 4 + IMAGE_TOKENS * len(images)
    current: HumanMessage
    if images:
        parts: list[str | dict[str, Any]] = [{"type": "text", "text": body}]
        parts += [{"type": "image_url", "image_url": {"url": url}} for url in images]
        current = HumanMessage(content=parts)
    else:
        current = HumanMessage(content=body)
    shown = [AIMessage(content=text) if role == "char" else HumanMessage(content=text) for role, text in examples]
    shown_cost = sum(count(str(m.content)) + 4 for m in shown)
    if shown_cost > budget // 2:
        shown, shown_cost = [], 0
    budget -= shown_cost
    if context_budget is not None:
        budget = min(budget, context_budget)
    kept: list[BaseMessage] = []
    labelled = _several_members(context_lines, event)
    for line in reversed(context_lines):
        msg = _as_message(line, bot_name, speaker, labelled=labelled, mention=event.bot_mention)
        cost = count(str(msg.content)) + 4
        if cost > budget:
            break
        kept.append(msg)
        budget -= cost
    dropped = len(context_lines) - len(kept)
    return [SystemMessage(content=system), *shown, *reversed(kept), current, *tool_turns], dropped


async def context_lines(record: Record, state: State, limit: int, chain_limit: int) -> list[ChatLine]:
    """The reply chain the message belongs to, then the channel's recent window, without repeats."""
    event = state["event"]
    history = state.get("history")
    if history is None:
        history = await record.window(event.channel_id, limit, before_id=event.message_id)
    seen = {line.message_id for line in history}
    chain = [line for line in await record.reply_chain(event.reply_to_id, chain_limit) if line.message_id not in seen]
    if event.thread_starter_id is not None and event.thread_starter_id not in seen:
        starter = await record.message(event.thread_starter_id)
        if starter is not None and all(line.message_id != starter.message_id for line in chain):
            chain.insert(0, starter)
    return chain + history


async def system_prompt(prompts: PromptLibrary, state: State, speaker_name: str, bot_name: str, spoken: bool) -> str:
    """The system prompt for this run: persona, what is remembered, the member's profile; the voice
    prompt after it when the answer is spoken. `speaker_name`: the bot's, or the cast character's."""
    event = state["event"]
    system = await prompts.arender(
        "system",
        event.guild_id,
        bot_name=speaker_name,
        persona=state.get("persona_text") or f"{speaker_name} is a helpful member.",
        memory=render_memory(state.get("retrieved") or []),
        channel=event.channel_name or "dm",
        author=event.author_name,
        date=datetime.now(UTC).strftime("%Y-%m-%d"),
        member_profile=state.get("member_profile") or "",
    )
    system = re.sub(r"\n{3,}", "\n\n", system)  # a persona's trailing newline beside a left-out section
    if spoken:
        system += "\n\n" + await prompts.arender("voice", event.guild_id, bot_name=bot_name)
    return system
