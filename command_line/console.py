"""The console door (`observer chat`): type as people in a channel, answered by the reply graph."""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import sys
from typing import Any, TextIO

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from agent.cast.chain import chained_line
from agent.events import Event, event_from_names
from agent.ids import new_snowflake
from agent.member_texts import capped_note
from agent.memory.scopes import readable_scopes
from agent.redact import redact
from agent.services import Services
from agent.state import Context
from agent.stream import ApprovalNeeded, Decided, Notice, RunOutcome, Thinking, Token, VoiceClip, run_events
from agent.tools.describe import call_line
from agent.verdicts import ApprovalRequest, Verdict, approval, denial
from command_line.run_failures import failed_run

_SPEAKER = re.compile(r"^([^\s:@/#][^\s:]{0,31}):\s+(.*)$", re.DOTALL)

HELP = """Type a message, or `name: message` to speak as someone else for one line.
  /as NAME         speak as NAME from now on
  /channel NAME    move to #NAME (a name starting with @ is a direct message)
  /mode MODE       set this channel's mode: off, mentions, auto, observe
  /cast            who is in this channel's cast; /cast add NAME [MODEL], /cast remove NAME, /cast bots on|off
  /verbose         toggle decision, model, retrieval, token and timing details
  /help            this list
  /quit            leave"""


def _unknown(cmd: str, arg: str) -> str:
    """One line for a command typed wrong: its usage when it needs an argument, else what exists."""
    for usage in HELP.splitlines()[1:]:
        if usage.split()[:1] == [cmd] and not arg:
            return f"({cmd} needs an argument: {usage.strip()})"
    return f"(no command {cmd}; /help lists them, and a line without a leading / is a message)"


class ConsoleSession:
    def __init__(self, services: Services, out: TextIO = sys.stdout, *, verbose: bool = False) -> None:
        from graphs.reply import build

        self.services = services
        # A checkpointer in memory: a tool call that changes something pauses the run for an approval.
        self.graph = build(services, checkpointer=InMemorySaver())
        self.out = out
        self.verbose = verbose
        self.author = "User"  # SillyTavern's default persona name; "you" read as the bot itself
        self.channel = "general"
        self.bot_name = services.settings.bot_name

    @property
    def prompt(self) -> str:
        where = self.channel if self.channel.startswith("@") else f"#{self.channel}"
        return f"{where}> "

    def make_event(self, text: str, author: str) -> Event:
        return event_from_names(
            "console",
            text=text,
            author=author,
            channel=self.channel,
            bot_name=self.bot_name,
            bot_user_id=self.services.bot_user_id,
        )

    async def handle_line(self, line: str) -> bool:
        """Handle one typed line; False means the session should end."""
        stripped = line.strip()
        if stripped.startswith("/"):
            return await self._command(stripped)
        author, text = self.author, line
        match = _SPEAKER.match(stripped)
        if match:
            author, text = match.group(1), match.group(2)
        await self.send(text, author)
        return True

    async def _command(self, line: str) -> bool:
        cmd, _, arg = line.partition(" ")
        arg = arg.strip()
        if cmd in ("/quit", "/exit"):
            return False
        if cmd == "/as" and arg:
            self.author = arg.split()[0][:32]
        elif cmd == "/channel" and arg:
            self.channel = arg.lstrip("#").split()[0][:100]
        elif cmd == "/mode" and arg:
            event = self.make_event("", self.author)
            await self.services.record.store_event(event)  # make sure the channel exists
            try:
                await self.services.record.set_channel_mode(event.channel_id, arg)
            except ValueError as exc:
                print(f"(error: {redact(str(exc))})", file=self.out)
                return True
            print(f"(#{self.channel} is now in {arg} mode)", file=self.out)
        elif cmd == "/cast":
            await self._cast(arg)
        elif cmd == "/verbose":
            self.verbose = not self.verbose
        elif cmd in ("/help", "/?"):
            print(HELP, file=self.out)
        else:
            print(_unknown(cmd, arg), file=self.out)
        return True

    async def _cast(self, arg: str) -> None:
        """`/cast`, `/cast add NAME [MODEL]`, `/cast remove NAME`: the characters in this channel."""
        event = self.make_event("", self.author)
        await self.services.record.store_event(event)  # make sure the channel exists
        casts = self.services.casts
        action, _, rest = arg.partition(" ")
        name, _, model = rest.strip().partition(" ")
        if action == "bots" and name in ("on", "off"):
            await self.services.record.update_channel_settings(event.channel_id, allow_bots=name == "on" or None)
            print(f"(characters in #{self.channel} {'answer' if name == 'on' else 'ignore'} other bots)", file=self.out)
            return
        if action in ("add", "remove") and name:
            stored = await self.services.personas.find(name, readable_scopes(event.guild_id, event.author_id))
            if stored is None:
                print(f"(no persona named {name}; add one with `observer persona ingest FILE`)", file=self.out)
                return
            if action == "add":
                await casts.add(event.channel_id, stored.card.name, model.strip())
            elif not await casts.remove(event.channel_id, stored.card.name):
                print(f"({stored.card.name} is not in #{self.channel}'s cast)", file=self.out)
                return
        elif action:
            print("(usage: /cast, /cast add NAME [MODEL], /cast remove NAME)", file=self.out)
            return
        members = await casts.members(event.channel_id)
        names = ", ".join(m.persona + (f" (model {m.model})" if m.model else "") for m in members)
        print(f"(#{self.channel}'s cast: {names or 'nobody; the bot speaks as itself'})", file=self.out)

    async def send(self, text: str, author: str) -> RunOutcome:
        """One member message, then as many characters chiming in as the chain allows."""
        outcome = await self.run(self.make_event(text, author), author)
        first = outcome
        turns = self.services.settings.cast_chain_turns
        while outcome.event is not None:
            line = chained_line(outcome.event, outcome, outcome.reply_message_id or new_snowflake(), turns)
            if line is None:
                break
            outcome = await self.run(line, author, quiet=True)
        return first

    async def run(self, event: Event, author: str, quiet: bool = False) -> RunOutcome:
        """`quiet`: a chain turn nobody took prints nothing."""
        outcome = RunOutcome()
        speaker: str | None = None
        started = False
        config = RunnableConfig(configurable={"thread_id": f"console:{event.message_id}"})
        run_input: Any = {"event": event}
        try:
            while run_input is not None:
                stream = self.graph.astream(
                    run_input,
                    config,
                    context=Context(
                        bot_name=self.bot_name, history_limit=self.services.settings.history_limit, can_approve=True
                    ),
                    stream_mode=["custom", "values"],
                )
                run_input = None
                async for item in run_events(stream, self.services.record):
                    if isinstance(item, Token):
                        if not started:
                            self.out.write(f"{speaker or self.bot_name}: ")
                            started = True
                        self.out.write(item.text)
                        self.out.flush()
                    elif isinstance(item, Notice):
                        print(f"({item.text})", file=self.out, flush=True)
                    elif isinstance(item, Thinking):
                        started = self._thinking(item, started)
                    elif isinstance(item, VoiceClip):
                        self.out.write(f"\n(voice reply, {item.duration_s:.1f} s: {item.path})")
                    elif isinstance(item, ApprovalNeeded):
                        run_input = Command(resume=await self.ask_approval(item.request, author))
                    elif isinstance(item, Decided):
                        speaker = item.decision.speaker
                    elif isinstance(item, RunOutcome):
                        outcome = item
        except Exception as exc:  # a service gone mid-session, say: one line, and the console goes on
            if started:
                self.out.write("\n")
            print(f"(no reply: {failed_run(exc)})", file=self.out, flush=True)
            return outcome
        await self.graph.checkpointer.adelete_thread(config["configurable"]["thread_id"])  # type: ignore[union-attr]
        if started:
            note = capped_note(outcome.capped, outcome.capped_seconds) if outcome.reply else ""
            self.out.write(f"{note}\n")
        decision = outcome.decision
        reason = ""
        if outcome.error:
            reason = redact(outcome.error.message)  # the operator's console: the detail, redacted
        elif decision is not None and not decision.respond:
            reason = decision.reason or "judge declined"
        if outcome.member_note:
            print(f"{self.bot_name} (to {author}): {outcome.member_note}", file=self.out)
        if reason and not (quiet and not outcome.reply):
            print(f"({'no reply' if not outcome.reply else 'reply cut short'}: {reason})", file=self.out)
        if self.verbose:
            self._print_details(outcome)
        self.out.flush()
        return outcome

    def _thinking(self, item: Thinking, started: bool) -> bool:
        """A dim line while the model thinks; printed text that was thinking after all is disowned."""
        if item.retract and started:
            self.out.write("\n")
            started = False
        note = "(the text above was the model thinking, not its answer)" if item.retract else "(thinking…)"
        dim = ("\x1b[2m", "\x1b[0m") if self.out.isatty() else ("", "")
        if item.retract or not started:
            print(f"{dim[0]}{note}{dim[1]}", file=self.out, flush=True)
        return started

    async def ask_approval(self, request: ApprovalRequest, author: str) -> Verdict:
        """The console's operator answers for the member: y approves, anything else (or no input) denies."""
        args = ", ".join(f"{k}={v!r}" for k, v in request.arguments.items())
        question = f"(approve {request.tool}({args}) for {request.asker}? [y/N]) "
        self.out.write(question)
        self.out.flush()
        try:
            answer = await asyncio.wait_for(asyncio.to_thread(sys.stdin.readline), request.timeout_s)
        except TimeoutError:
            print("(no answer: denied)", file=self.out)
            return denial(f"no answer within {request.timeout_s:g} s")
        approved = answer.strip().lower() in ("y", "yes")
        return approval(author) if approved else denial(f"{author} denied it", author)

    def _print_details(self, outcome: RunOutcome) -> None:
        decision = outcome.decision
        if decision is not None:
            print(
                f"  decision: respond={decision.respond} model={decision.model} voice={decision.voice} "
                f"act={decision.act} speaker={decision.speaker} by={decision.source} reason={decision.reason!r}",
                file=self.out,
            )
        for candidate in outcome.cast:
            print(f"  cast: {candidate.name} (talkativeness {candidate.talkativeness:.1f})", file=self.out)
        if outcome.model:
            print(f"  model: {outcome.model} ({outcome.model_reason})", file=self.out)
        print(f"  persona: {'?' if outcome.persona is None else outcome.persona}", file=self.out)
        for snippet in outcome.retrieved:
            print(f"  retrieved {snippet.kind} [{snippet.score:.2f}] {snippet.text[:80]}", file=self.out)
        for entry in outcome.tool_log:
            print(call_line(entry), file=self.out)
        usage = outcome.usage
        if usage:
            print(
                f"  tokens: in={usage['tokens_in']} out={usage['tokens_out']} cost=${usage['cost_usd']:.6f}",
                file=self.out,
            )
        timings = outcome.timings
        if timings:
            print("  timings: " + ", ".join(f"{k}={v:.1f}" for k, v in sorted(timings.items())), file=self.out)


async def repl(session: ConsoleSession) -> None:
    """Read lines until /quit or end of input (Ctrl-D). Ctrl-C stops the answer being written and
    returns to the prompt, as in a shell; at the prompt it says how to leave."""
    print(f"Observer console. {session.bot_name} answers when you write @{session.bot_name}. /help for commands.")
    loop = asyncio.get_running_loop()
    running: list[asyncio.Task[bool]] = []
    stopped: list[bool] = []  # the member pressed Ctrl-C during this answer

    def interrupt() -> None:
        if running and not running[0].done():
            stopped.append(True)
            running[0].cancel()
        else:
            print("\n(Ctrl-D or /quit leaves)", flush=True)

    with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows, or not the main thread
        loop.add_signal_handler(signal.SIGINT, interrupt)
    try:
        while True:
            try:
                line = await asyncio.to_thread(input, session.prompt)
            except (EOFError, KeyboardInterrupt):
                print()
                return
            if not line.strip():
                continue
            running[:] = [asyncio.create_task(session.handle_line(line))]
            stopped.clear()
            try:
                if not await running[0]:
                    return
            except asyncio.CancelledError:
                if not stopped:
                    raise  # the console itself is being stopped
                print("\n(stopped)", file=session.out, flush=True)
            finally:
                running.clear()
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(signal.SIGINT)
