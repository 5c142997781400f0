"""Runs the reply graph for one message and renders its stream on Discord (reply_run.py): the one way a
message, a slash command's question or an approval's verdict becomes an answer."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import discord
from langchain_core.runnables import RunnableConfig
from langgraph.types import Command

from agent.events import Event
from agent.memory.progress import MessageState
from agent.settings import Settings
from agent.state import Context, InputState
from agent.stream import NoteSink, RunOutcome, outcome_of, run_events
from agent.verdicts import ApprovalRequest
from discord_adapter.inbox import Inbox
from discord_adapter.reply_run import ReplyRun, Surroundings
from discord_adapter.sinks import ReplySink
from discord_adapter.stream import Sink

log = logging.getLogger(__name__)

# A paused run's request goes to the approval desk: (the question, the member's message, the request).
AskApproval = Callable[[Event, discord.Message, ApprovalRequest], Awaitable[None]]


@dataclass(frozen=True)
class ReplyTo:
    """One run to make. `track`: keep the message's lifecycle in the record (answered, skipped or failed,
    with the parts posted) so a restart can resume it; the caller has claimed it (answering) before
    anything is posted. `resume`: parts already posted, edited in place. `command`: resume a paused run.
    `arrived`: the door ran the arrival step for `event` (agent.arrival); the graph does not repeat it."""

    event: Event
    sink: Sink
    typing_in: Any = None  # where to show "typing…" once the graph decides to answer
    resume: list[Any] = field(default_factory=list)
    track: bool = False
    command: Command | None = None
    store_reply: bool = False
    model: str | None = None
    arrived: bool = False


@dataclass(frozen=True)
class Reply:
    """How a run ended (typed, from the graph's final state), and the ids of the messages it posted."""

    outcome: RunOutcome
    posted_ids: list[int]
    paused: bool = False


class Replier:
    def __init__(
        self,
        graph: Any,
        around: Surroundings,
        inbox: Inbox,
        settings: Settings,
        *,
        checkpointer: Any = None,
        ask_approval: AskApproval | None = None,
        notes: NoteSink | None = None,
    ) -> None:
        self.graph = graph
        self.around = around
        self.inbox = inbox
        self.settings = settings
        self.checkpointer = checkpointer
        self.ask_approval = ask_approval
        self.notes = notes  # each run's steps and timings, for the dashboard (None: not noted)
        # Bots' and our own messages: recorded, never checkpointed. The same graph without persistence.
        self.unchecked_graph = graph if checkpointer is None else graph.copy(update={"checkpointer": None})
        self.last_error: dict[int, str] = {}  # channel → the last run's error (redacted), for /status

    def context(self, *, store_reply: bool = False, model: str | None = None, can_approve: bool = False) -> Context:
        return Context(
            bot_name=self.settings.bot_name,
            history_limit=self.settings.history_limit,
            store_reply=store_reply,
            model=model,
            can_approve=can_approve,
        )

    async def record(self, event: Event) -> RunOutcome:
        """A message nobody is answered for (a bot's): through the graph, without a checkpoint."""
        return outcome_of(await self.unchecked_graph.ainvoke({"event": event}, context=self.context()))

    async def _graph_input(self, event: Event, config: RunnableConfig, arrived: bool) -> InputState | None:
        """None resumes the message's checkpointed run where it stopped; otherwise a fresh run's input."""
        if self.checkpointer is not None:
            saved = await self.graph.aget_state(config)
            if saved.next:
                log.info("message %s: resuming its run at %s", event.message_id, ", ".join(saved.next))
                return None
        return InputState(event=event, arrived=True) if arrived else InputState(event=event)

    async def run(self, to: ReplyTo) -> Reply:
        """Run the graph for one message and stream the answer into its sink."""
        event, sink = to.event, to.sink
        run = ReplyRun(self.around, event, sink, to.typing_in, resume=to.resume, track=to.track)
        config = RunnableConfig(configurable={"thread_id": f"reply:{event.message_id}"})
        # Approval buttons need a paused run to come back to: a checkpointed reply to a channel message.
        can_approve = self.checkpointer is not None and isinstance(sink, ReplySink)
        try:
            return await self._deliver(run, to, config, can_approve)
        except BaseException:
            # Stopped (a shutdown's grace ran out, another process took the question over) or failed, at
            # any step, streaming or delivering: no more calls for this reply from here, not even the
            # progress edit its renderer may be waiting to make. Whatever it shows now stays.
            run.renderer.abandon()
            raise

    async def _deliver(self, run: ReplyRun, to: ReplyTo, config: RunnableConfig, can_approve: bool) -> Reply:
        event, sink = to.event, to.sink
        try:
            stream = self.graph.astream(
                to.command if to.command is not None else await self._graph_input(event, config, to.arrived),
                config,
                context=self.context(store_reply=to.store_reply, model=to.model, can_approve=can_approve),
                stream_mode=["custom", "values"],
                durability="async" if self.checkpointer is not None else None,
            )
            async for item in run_events(stream, self.notes):
                run.on(item)
        finally:
            await run.stop_streaming()
        outcome = run.outcome
        if run.approval is not None and isinstance(sink, ReplySink) and self.ask_approval is not None:
            # Paused: the run stays checkpointed (the message "paused") until someone answers.
            await run.finish()
            await self.ask_approval(event, sink.message, run.approval)
            return Reply(outcome, [], paused=True)
        decision = outcome.decision
        if decision is not None:
            log.info(
                "message %s: %s (%s: %s)",
                event.message_id,
                f"answered with {outcome.model}" if decision.respond else "no reply",
                decision.source,
                decision.reason,
            )
        error = run.error()
        if error:  # noted before the member reads the apology: a /status right after it already shows it
            self.last_error[event.channel_id] = error
        await run.finish()
        if to.track:
            answered = outcome.respond
            ended: MessageState = ("failed" if error else "answered") if answered else "skipped"
            await self.inbox.mark(event.message_id, ended, sources=("answering", None))
        if self.checkpointer is not None:
            await self.checkpointer.adelete_thread(f"reply:{event.message_id}")
        return Reply(outcome, posted_ids(run))


def posted_ids(run: ReplyRun) -> list[int]:
    return [handle.id for handle, _ in run.renderer.sent if handle is not None]
