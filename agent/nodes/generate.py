"""generate: write the answer, streaming tokens through the run's stream writer."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.messages.tool import InvalidToolCall, ToolCall
from langgraph.runtime import Runtime

from agent.events import ChatLine, Event
from agent.ids import stable_id
from agent.member_texts import cannot_answer, no_answer
from agent.memory.recall import render_memory
from agent.memory.record import Record
from agent.models.calls import Answer, stream_answer
from agent.models.config import ModelSpec
from agent.models.echo import EchoScrubber, scrub_echo
from agent.models.router import Router
from agent.models.tokenizers import Counter, counter_for
from agent.models.tokens import approx_tokens, shorten_middle
from agent.nodes.speak import wants_voice
from agent.prompts import PromptLibrary
from agent.safety import defuse_mentions
from agent.settings import Settings
from agent.state import Context, State, Usage, context_of
from agent.stream import ReplyStart, Token
from agent.tools.policy import parse_arguments
from agent.tools.toolbox import Toolbox

log = logging.getLogger(__name__)

# What an image costs in a prompt, roughly (OpenAI's low-detail price), when fitting the window.
IMAGE_TOKENS = 85


def _as_message(line: ChatLine, bot_name: str, speaker: str | None = None) -> BaseMessage:
    if speaker is not None:
        # A cast: only the speaker's own lines are its turns; the other characters talk like members.
        # (No `name`: OpenAI allows only ASCII letters, digits, _ and - there, and names may be ミカ.)
        if line.is_bot and line.author == speaker:
            return AIMessage(content=line.text)
        return HumanMessage(content=f"{line.author}: {line.text}")
    if line.is_bot:
        return AIMessage(content=line.text, name=bot_name)
    return HumanMessage(content=f"{line.author}: {line.text}")


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
) -> tuple[list[BaseMessage], int]:
    """System prompt, as much recent context as fits (newest kept), and the message being answered.

    Counts with the model's tokenizer. Images go to vision models as image inputs; other models
    read a note that an image was there. This run's tool turns (calls and results) follow the message.
    Returns the messages and how many context lines were dropped.
    """
    turns_cost = sum(count(str(m.content)) + count(str(getattr(m, "tool_calls", ""))) + 4 for m in tool_turns)
    budget = spec.context_window - spec.max_output_tokens - count(system) - 16 - turns_cost
    text = event.text_for_model() or "(sent no text)"
    images = _images(event) if spec.vision else []
    if event.attachments:
        text = f"{text} {event.describe_attachments()}"
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
    if context_budget is not None:
        budget = min(budget, context_budget)
    kept: list[BaseMessage] = []
    for line in reversed(context_lines):
        msg = _as_message(line, bot_name, speaker)
        cost = count(str(msg.content)) + 4
        if cost > budget:
            break
        kept.append(msg)
        budget -= cost
    dropped = len(context_lines) - len(kept)
    return [SystemMessage(content=system), *reversed(kept), current, *tool_turns], dropped


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


@dataclass
class Generate:
    """Writes the answer, streaming it."""

    record: Record
    prompts: PromptLibrary
    router: Router
    settings: Settings
    bot_user_id: int
    toolbox: Toolbox | None = None
    tool_rounds: int = 4

    async def __call__(self, state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        started = time.perf_counter()
        event = state["event"]
        ctx = context_of(runtime)
        writer = runtime.stream_writer
        decision = state.get("decision")
        speaker = decision.speaker if decision is not None else None
        # Who writes: the bot, or in a channel with a cast, the chosen character (stored under its name).
        author_name, author_id = self._author(event, ctx.bot_name, speaker)
        blocked = state.get("route_blocked")
        if blocked:
            # Over budget (or nothing can take the message): a polite answer, no model call.
            reply = cannot_answer("over_budget")
            writer(Token(text=reply))
            update: dict[str, Any] = {"reply": reply, "error": blocked, "failure": "over_budget"}
            if ctx.store_reply:
                update["reply_message_id"] = self.record.store_bot_reply(event, reply, author_id, author_name)
            return update

        persona = state.get("persona_text") or f"{author_name} is a helpful member."
        system = await self.prompts.arender(
            "system",
            event.guild_id,
            bot_name=author_name,
            persona=persona,
            memory=render_memory(state.get("retrieved") or []),
            channel=event.channel_name or "dm",
            author=event.author_name,
            date=datetime.now(UTC).strftime("%Y-%m-%d"),
            member_profile=state.get("member_profile") or "",
        )
        # Decided once, here: the prompt, the door (holding text back, if so configured) and the
        # graph's route to `speak` all follow this.
        spoken = wants_voice(state)
        if spoken:
            system += "\n\n" + await self.prompts.arender("voice", event.guild_id, bot_name=ctx.bot_name)
        lines = await context_lines(self.record, state, ctx.history_limit, self.settings.reply_chain_limit)
        if speaker is not None:
            # A character knows only what it witnessed: nothing from before it joined the cast.
            joined = next((c.joined_after_id for c in state.get("cast") or [] if c.name == speaker), 0)
            lines = [line for line in lines if line.message_id > joined]

        # The agent loop: earlier rounds of this run asked for tools; their calls and results follow.
        turns = list(state.get("tool_turns") or [])
        rounds_done = sum(1 for m in turns if isinstance(m, AIMessage))
        earlier = state.get("reply") or "" if turns else ""

        decision = state.get("decision")
        acting = decision is None or decision.act

        def tools_for(spec: ModelSpec) -> list[dict[str, Any]]:
            # The last allowed round offers none: the model answers with what it has. Where the judge
            # said it is just talk, none either (fewer prompt tokens, no stray calls).
            if self.toolbox is None or not spec.tools or rounds_done >= self.tool_rounds or not acting:
                return []
            return [t.openai_schema() for t in self.toolbox.for_event(event)]

        def build(spec: ModelSpec) -> list[BaseMessage]:
            messages, dropped = build_messages(
                system,
                lines,
                event,
                spec,
                ctx.bot_name,
                self.settings.context_tokens,
                counter_for(spec),
                turns,
                speaker,
            )
            if dropped:
                log.info("context cut: %d of %d earlier messages dropped to fit %s", dropped, len(lines), spec.name)
            return messages

        def record_call(**call: Any) -> None:
            self.record.queue_usage(event, purpose="reply", latency_ms=0.0, **call)

        settings = self.settings
        # A channel's setting wins; otherwise the member's profile adapts the sampling temperature.
        temperature = (state.get("channel_settings") or {}).get("temperature")
        if temperature is None:
            temperature = state.get("profile_temperature")
        if not turns:
            writer(ReplyStart(spoken=spoken))
        echo = EchoScrubber([author_name, event.author_name, event.bot_mention])
        answer = await stream_answer(
            self.router,
            state.get("model"),
            build,
            _scrubbed(echo, _after(earlier, writer)),
            event,
            record_call=record_call,
            retries=settings.model_retries,
            max_wait_s=settings.max_busy_wait_seconds,
            temperature=temperature,
            tools_for=tools_for,
        )
        if held := echo.finish():
            _after(earlier, writer)(Token(text=held))
        answer.text = scrub_echo(answer.text, [author_name, event.author_name, event.bot_mention])
        text = (
            f"{earlier.rstrip()}\n\n{answer.text}" if earlier.strip() and answer.text.strip() else earlier + answer.text
        )
        if answer.tool_calls and answer.error is None and answer.model is not None:
            return self._asked_for_tools(state, event, answer, turns, text, started, lines)
        reply = defuse_mentions(text.strip())
        update = {"reply": reply, "spoken": spoken, "acting": False}
        if answer.route_notes:
            update["model_reason"] = "; ".join([state.get("model_reason") or "", *answer.route_notes]).strip("; ")
        if answer.model is not None:
            update["model"] = answer.model
            usage = Usage(
                model=answer.model,
                tokens_in=answer.tokens_in,
                tokens_out=answer.tokens_out,
                cost_usd=answer.cost_usd,
                latency_ms=round(answer.model_ms, 1),
            )
            update["usage"] = usage
            call = {
                "purpose": "reply",
                "model": answer.model,
                "tokens_in": answer.tokens_in,
                "tokens_out": answer.tokens_out,
                "cost_usd": answer.cost_usd,
                "latency_ms": answer.model_ms,
                "ok": answer.error is None,
                "error": answer.error,
            }
            # Failed attempts were recorded as they happened; this is the successful call.
            success = call if answer.error is None else None
            if reply and ctx.store_reply:
                update["reply_message_id"] = self.record.store_bot_reply(
                    event, reply, author_id, author_name, usage=success
                )
            elif success is not None:
                self.record.queue_usage(event, **success)  # the door records the reply it delivers
        if answer.capped:
            update["capped"], update["capped_seconds"] = answer.capped, answer.capped_limit
        if answer.error is not None or answer.failure is not None:
            # With a partial answer kept, the failure is still reported; members read only its kind.
            update["error"], update["failure"] = answer.error or answer.failure, answer.failure or "failed"
        elif not reply:
            update["error"] = no_answer(answer.model, answer.reasoning_only)
            update["failure"] = "only_reasoning" if answer.reasoning_only else "empty"
        timings = {"generate_ms": (time.perf_counter() - started) * 1000, "generate_model_ms": answer.model_ms}
        if answer.first_token_ms is not None:
            timings["first_token_ms"] = answer.first_token_ms
        update["timings"] = timings
        return update

    def _author(self, event: Event, bot_name: str, speaker: str | None) -> tuple[str, int]:
        if speaker is None:
            return bot_name, event.bot_user_id or self.bot_user_id
        return speaker, stable_id("character", speaker)

    def _asked_for_tools(
        self,
        state: State,
        event: Event,
        answer: Answer,
        turns: list[BaseMessage],
        text: str,
        started: float,
        lines: list[ChatLine],
    ) -> dict[str, Any]:
        """A round that ended in tool calls: keep them for the act node; this round's usage counts now."""
        assert answer.model is not None
        self.record.queue_usage(
            event,
            purpose="reply",
            model=answer.model,
            tokens_in=answer.tokens_in,
            tokens_out=answer.tokens_out,
            cost_usd=answer.cost_usd,
            latency_ms=answer.model_ms,
        )
        timings = dict(state.get("timings") or {})
        timings["generate_ms"] = timings.get("generate_ms", 0.0) + (time.perf_counter() - started) * 1000
        timings["tool_rounds_model_ms"] = timings.get("tool_rounds_model_ms", 0.0) + answer.model_ms
        return {
            # The next round reads the same window: kept, not queried again.
            "history": lines,
            "tool_turns": [*turns, tool_call_message(answer)],
            "acting": True,
            "reply": text,
            "model": answer.model,
            "timings": timings,
        }


def tool_call_message(answer: Answer) -> AIMessage:
    """The model's turn as the next request must repeat it; calls with broken JSON stay, marked invalid,
    so the act node can answer each (the model reads why and may try again)."""
    calls: list[ToolCall] = []
    invalid: list[InvalidToolCall] = []
    for call in answer.tool_calls:
        try:
            args = parse_arguments(call["arguments"])
        except ValueError as exc:
            invalid.append(
                InvalidToolCall(
                    name=call["name"], args=call["arguments"], id=call["id"], error=str(exc), type="invalid_tool_call"
                )
            )
            continue
        calls.append(ToolCall(name=call["name"], args=args, id=call["id"], type="tool_call"))
    return AIMessage(content=answer.text, tool_calls=calls, invalid_tool_calls=invalid)


def _scrubbed(echo: EchoScrubber, writer: Any) -> Any:
    """The stream writer with a leading echoed label or mention held back and removed."""

    def write(item: Any) -> None:
        if isinstance(item, Token):
            text = echo.feed(item.text)
            if text:
                writer(Token(text=text))
        else:
            writer(item)

    return write


def _after(earlier: str, writer: Any) -> Any:
    """The stream writer for a later round: its first token is set apart from the earlier rounds' text."""
    if not earlier.strip():
        return writer
    pending = True

    def write(item: Any) -> None:
        nonlocal pending
        if pending and isinstance(item, Token) and item.text.strip():
            pending = False
            writer(Token(text="\n\n"))
        writer(item)

    return write
