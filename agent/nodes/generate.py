"""generate: write the answer, streaming tokens through the run's stream writer.

The prompt is assembled in `prompt_assembly`, the stream goes through `round_writers`, and the state
update is made in `reply_outcome`."""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage
from langgraph.runtime import Runtime

from agent.events import ChatLine, Event
from agent.ids import stable_id
from agent.member_texts import cannot_answer
from agent.memory.record import Record
from agent.models.calls import stream_answer
from agent.models.config import ModelSpec
from agent.models.echo import EchoScrubber, scrub_echo
from agent.models.router import Router
from agent.models.tokenizers import counter_for
from agent.nodes.prompt_assembly import build_messages, context_lines, system_prompt
from agent.nodes.reply_outcome import answered, asked_for_tools
from agent.nodes.round_writers import after, scrubbed
from agent.nodes.speak import wants_voice
from agent.nodes.token_batches import TokenBatcher
from agent.prompts import PromptLibrary
from agent.settings import Settings
from agent.state import Context, State, context_of
from agent.stream import ReplyStart, Token
from agent.tools.toolbox import Toolbox

log = logging.getLogger(__name__)


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
        writer = TokenBatcher(runtime.stream_writer)
        try:
            result = await self._round(state, runtime, writer)
        except BaseException:
            with contextlib.suppress(Exception):  # what went wrong in the round is what is raised
                writer.flush()
            raise
        writer.flush()  # before the node ends: its text precedes everything after it
        return result

    async def _round(self, state: State, runtime: Runtime[Context], writer: TokenBatcher) -> dict[str, Any]:
        started = time.perf_counter()
        event = state["event"]
        ctx = context_of(runtime)
        decision = state.get("decision")
        speaker = decision.speaker if decision is not None else None
        # Who writes: the bot, or in a channel with a cast, the chosen character (stored under its name).
        author = self._author(event, ctx.bot_name, speaker)
        if blocked := state.get("route_blocked"):
            return self._over_budget(blocked, event, author, writer, ctx.store_reply)
        # Decided once, here: the prompt, the door (holding text back, if so configured) and the graph's
        # route to `speak` all follow this.
        spoken = wants_voice(state)
        system = await system_prompt(self.prompts, state, author[0], ctx.bot_name, spoken)
        lines = await self._lines(state, ctx.history_limit, speaker)
        # The agent loop: earlier rounds of this run asked for tools; their calls and results follow.
        turns = list(state.get("tool_turns") or [])
        earlier = state.get("reply") or "" if turns else ""
        if not turns:
            writer(ReplyStart(spoken=spoken))
        examples = list(state.get("persona_examples") or [])
        names = [author[0], event.author_name, event.bot_mention]
        echo = EchoScrubber(names)

        def build(spec: ModelSpec) -> list[BaseMessage]:
            budget, count = self.settings.context_tokens, counter_for(spec)
            messages, dropped = build_messages(
                system,
                lines,
                event,
                spec,
                ctx.bot_name,
                budget,
                count,
                turns,
                speaker,
                examples,
                link_chars=self.settings.linked_message_chars,
            )
            if dropped:
                log.info("context cut: %d of %d earlier messages dropped to fit %s", dropped, len(lines), spec.name)
            return messages

        answer = await stream_answer(
            self.router,
            state.get("model"),
            state.get("model_order") or (),
            build,
            scrubbed(echo, after(earlier, writer)),
            event,
            record_call=lambda **call: self.record.queue_usage(event, purpose="reply", latency_ms=0.0, **call),
            retries=self.settings.model_retries,
            max_wait_s=self.settings.max_busy_wait_seconds,
            temperature=_temperature(state),
            tools_for=self._tools_for(state, event, turns),
        )
        if held := echo.finish():
            after(earlier, writer)(Token(text=held))
        answer.text = scrub_echo(answer.text, names)
        text = _joined(earlier, answer.text)
        if answer.tool_calls and answer.error is None and answer.model is not None:
            return asked_for_tools(self.record, event, answer, text, started, lines)
        return answered(
            self.record, state, answer, text, spoken=spoken, author=author, store_reply=ctx.store_reply, started=started
        )

    def _over_budget(
        self, blocked: str, event: Event, author: tuple[str, int], writer: Any, store_reply: bool
    ) -> dict[str, Any]:
        """Over budget (or nothing can take the message): a polite answer, no model call."""
        reply = cannot_answer("over_budget")
        writer(Token(text=reply))
        update: dict[str, Any] = {"reply": reply, "error": blocked, "failure": "over_budget"}
        if store_reply:
            update["reply_message_id"] = self.record.store_bot_reply(event, reply, author[1], author[0])
        return update

    def _author(self, event: Event, bot_name: str, speaker: str | None) -> tuple[str, int]:
        if speaker is None:
            return bot_name, event.bot_user_id or self.bot_user_id
        return speaker, stable_id("character", speaker)

    async def _lines(self, state: State, history_limit: int, speaker: str | None) -> list[ChatLine]:
        lines = await context_lines(self.record, state, history_limit, self.settings.reply_chain_limit)
        if speaker is not None:
            # A character knows only what it witnessed: nothing from before it joined the cast.
            joined = next((c.joined_after_id for c in state.get("cast") or [] if c.name == speaker), 0)
            lines = [line for line in lines if line.message_id > joined]
        return lines

    def _tools_for(self, state: State, event: Event, turns: list[BaseMessage]) -> Any:
        rounds_done = sum(1 for m in turns if isinstance(m, AIMessage))
        decision = state.get("decision")
        acting = decision is None or decision.act

        def tools_for(spec: ModelSpec) -> list[dict[str, Any]]:
            # The last allowed round offers none: the model answers with what it has. Where the judge
            # said it is just talk, none either (fewer prompt tokens, no stray calls).
            if self.toolbox is None or not spec.tools or rounds_done >= self.tool_rounds or not acting:
                return []
            return [t.openai_schema() for t in self.toolbox.for_event(event)]

        return tools_for


def _joined(earlier: str, text: str) -> str:
    """This round's text after the earlier rounds' (a tool loop), set apart by a blank line."""
    return f"{earlier.rstrip()}\n\n{text}" if earlier.strip() and text.strip() else earlier + text


def _temperature(state: State) -> float | None:
    """A channel's setting wins; otherwise the member's profile adapts the sampling temperature."""
    temperature = (state.get("channel_settings") or {}).get("temperature")
    return temperature if temperature is not None else state.get("profile_temperature")
