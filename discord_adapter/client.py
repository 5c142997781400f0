"""The Discord client: translates gateway events into graph runs and the graph's stream into messages."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import discord
from discord import app_commands
from langchain_core.runnables import RunnableConfig
from langgraph.types import Command

from agent.addressing import address_by_prefix
from agent.events import Event
from agent.ids import stable_id
from agent.memory.processes import Me, Processes
from agent.memory.progress import Progress, State
from agent.nodes.ingest import foresee
from agent.rules import addresses_bot
from agent.services import Services
from agent.state import Context, InputState
from agent.stream import reply_events
from discord_adapter import event_guard
from discord_adapter.approval_desk import ApprovalDesk
from discord_adapter.arrivals import Arrivals
from discord_adapter.busy_notes import BusyNotes
from discord_adapter.characters import CharacterDesk
from discord_adapter.context import backfill_context
from discord_adapter.gateway_close import DrainOnce, close_after_drain
from discord_adapter.inbox import Inbox
from discord_adapter.presence import Presence
from discord_adapter.proxies import Proxies, take_repost
from discord_adapter.queues import ChannelQueues, Job
from discord_adapter.recovery import catch_up, resume_unfinished
from discord_adapter.reply_run import ReplyRun
from discord_adapter.retries import Retries, apologise
from discord_adapter.shard_hold import ShardHold
from discord_adapter.shard_ready import keep_shard_readies
from discord_adapter.sinks import ReplySink
from discord_adapter.stream import ChannelBudget, Sink
from discord_adapter.translate import to_event

log = logging.getLogger(__name__)


def intents() -> discord.Intents:
    """Only what is used. `message_content` is privileged: enable it in the Developer Portal."""
    wanted = discord.Intents.none()
    wanted.guilds = True
    wanted.guild_messages = True
    wanted.dm_messages = True
    wanted.message_content = True
    wanted.voice_states = True  # who is in which voice channel, for /join and speaking replies there
    return wanted


class ObserverBot(discord.AutoShardedClient):
    def __init__(self, services: Services, *, checkpointer: Any = None, me: Me | None = None, **options: Any) -> None:
        settings = services.settings
        # A fixed layout (several processes, one bot): this process connects only its shards; in the
        # automatic one, the shards whose leases it holds (given by the caller). Unset: every shard,
        # as many as Discord recommends.
        if settings.shard_count is not None:
            options.setdefault("shard_count", settings.shard_count)
            if isinstance(settings.shard_ids, list):
                options.setdefault("shard_ids", settings.shard_ids)
        super().__init__(
            intents=intents(),
            # Never @everyone, @here or roles; only the author we reply to is pinged.
            allowed_mentions=discord.AllowedMentions(everyone=False, roles=False, users=False, replied_user=True),
            chunk_guilds_at_startup=False,
            member_cache_flags=discord.MemberCacheFlags.from_intents(intents()),
            **options,
        )
        event_guard.show_exception_text = settings.log_content
        self.services = services
        self.started_at = time.monotonic()
        self.tree = app_commands.CommandTree(self)
        self.queues = ChannelQueues(
            settings.channel_queue_size,
            self._answer,
            self._busy,
            self._superseded,
            parallel=settings.channel_parallel_replies,
        )
        self.budget = ChannelBudget(settings.edit_interval_seconds)
        self.busy_notes = BusyNotes(self.budget)  # every call to Discord in a channel takes a turn of its budget
        self.me = me or Me()
        self.processes = Processes(services.record.engine, self.me, settings.process_lease_seconds)
        self.progress = Progress(services.record.engine, services.record.patience, holder=self.me.id)
        services.record.holder = self.me.id
        self.arrivals = Arrivals(self)
        self.retries = Retries(self)
        # Reply runs are checkpointed (when a checkpointer is given): a restart resumes, not repeats.
        self.checkpointer = checkpointer
        from graphs.reply import build

        self.graph = build(services, checkpointer=checkpointer)
        # Bots' and our own messages: recorded, never checkpointed. The same graph without persistence.
        self.unchecked_graph = self.graph if checkpointer is None else self.graph.copy(update={"checkpointer": None})
        # Live messages wait, per shard, while a recovery pass queues older ones (see shard_hold.py).
        self.shard_hold = ShardHold(self.recover, self.queues.submit)
        # Messages this process took in and has not finished, and every move of their states.
        self.inbox = Inbox(self.progress)
        # The first message each channel delivered live since the gateway (re)connected: catch-up reads
        # history from the last recorded message before it, whatever arrived live meanwhile.
        self.first_live: dict[int, int] = {}
        self.approvals = ApprovalDesk(self)
        self.characters = CharacterDesk(self)
        self.presence = Presence(self._show_activity)
        self.last_error: dict[int, str] = {}
        self.proxies = Proxies()
        self.edits: dict[int, str] = {}  # messages edited while being answered: their new text
        self._drained = DrainOnce()
        self.launched = asyncio.Event()  # every shard it started with is connected (shard_keeper.py)

    def _get_state(self, **options: Any) -> Any:
        # One bad event never ends a shard; every shard's READY reaches on_shard_ready.
        return keep_shard_readies(event_guard.guard_state(super()._get_state(**options)))

    on_error = event_guard.handler_failed

    # ----- lifecycle -----
    async def setup_hook(self) -> None:
        guild_id = self.services.settings.dev_guild_id
        if guild_id:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("slash commands synced to guild %s (%d commands)", guild_id, len(synced))
        else:
            synced = await self.tree.sync()
            log.info("slash commands synced globally (%d commands; may take up to an hour to appear)", len(synced))

    async def launch_shards(self) -> None:
        if self.shard_count is not None:  # a fixed layout; otherwise the count is known once on_ready
            log.info("holding shards %s of %d", list(self.shard_ids or range(self.shard_count)), self.shard_count)
        await super().launch_shards()
        self.launched.set()

    async def on_ready(self) -> None:
        if self.services.settings.shard_count is None:
            log.info("holding shards %s of %d (Discord's recommended count)", sorted(self.shards), self.shard_count)
        log.info("connected as %s to %d guild(s)", self.user, len(self.guilds))

    async def on_shard_ready(self, shard_id: int) -> None:
        """Every READY of a shard (a start, or a session that could not be resumed): recover what it missed."""
        self.shard_hold.ready(shard_id)

    async def recover(self, shards: frozenset[int]) -> None:
        """Resume interrupted questions, then read what `shards` missed; their live messages wait meanwhile."""
        resumed, expired = await resume_unfinished(self)
        recorded, queued = await catch_up(self, shards)
        if resumed or expired or recorded:
            log.info(
                "recovery: %d question(s) resumed, %d too old and closed; %d missed message(s) recorded, %d to answer",
                resumed,
                expired,
                recorded,
                queued,
            )

    async def close(self) -> None:
        """Never close under a reply in flight (a fatal gateway close too): drain as on SIGTERM, then close."""
        grace_s = self.services.settings.shutdown_grace_seconds
        await close_after_drain(self._drained, lambda: self._drain(grace_s), super().close)

    async def shutdown(self, grace_s: float) -> None:
        await self._drained(lambda: self._drain(grace_s))

    async def _drain(self, grace_s: float) -> None:
        """No new runs; replies in flight get `grace_s` to finish; the rest resume at the next start."""
        log.warning("stopping: finishing replies in flight (up to %.0f s)", grace_s)
        cancelled = await self.queues.stop(grace_s)
        if cancelled:
            log.warning("%d reply run(s) did not finish in %.0f s; they resume at the next start", cancelled, grace_s)
        await self.services.record.flush()

    async def on_shard_disconnect(self, shard_id: int) -> None:
        # Nothing arrives on this shard while disconnected; what it delivers next waits until we know
        # whether the session resumed or a recovery pass must read the gap first.
        self.first_live.clear()
        self.shard_hold.disconnected(shard_id)
        if self.shard_ids is not None and shard_id not in self.shard_ids:
            log.info("shard %s closed: handed over to another process", shard_id)
            return
        log.warning("gateway connection of shard %s lost; discord.py reconnects and resumes", shard_id)

    async def on_shard_resumed(self, shard_id: int) -> None:
        log.info("shard %s resumed", shard_id)
        await self.shard_hold.resumed(shard_id)

    # ----- messages in -----
    def event_for(self, message: discord.Message) -> Event:
        assert self.user is not None
        event = to_event(message, self.user)
        return address_by_prefix(event, self.services.registry.config.prefixes_for(event.guild_id))

    async def on_message(self, message: discord.Message) -> None:
        if message.webhook_id is not None and await take_repost(self, message):
            return  # a proxied member's repost: theirs, answered once (the original's answer goes to it)
        event = self.event_for(message)
        self.first_live.setdefault(event.channel_id, event.message_id)
        if message.author.bot:
            if await self._answers_bots(event, message):
                await self.queues.submit(Job(event, message))  # a cast that may answer other bots
                return
            # Our own echoes and other bots: recorded through the graph at once, never queued behind members.
            await self.arrivals.through_graph(event)
            return
        self.proxies.saw(message)
        foresee(event, self.services.memory)
        gate = self.services.gate
        if addresses_bot(event):
            gate.arrived(event)  # flood control counts messages still waiting in a queue
        self.inbox.hold(event.message_id)
        job = Job(event, message)
        # In the record before it waits in any queue: whatever kills the process, it is not lost.
        if not await self.arrivals.keeps_out(event) and not await self.arrivals.store(job, self.take):
            return  # the record refuses it for now: kept in memory, queued once written
        await self.take(job)

    async def take(self, job: Job) -> None:
        """Into the channel's queue, unless its shard is recovering (then it waits for the recovery pass)."""
        guild = getattr(job.message, "guild", None)
        if not self.shard_hold.hold(guild.shard_id if guild else 0, job):
            await self.queues.submit(job)

    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        if "content" not in payload.data:
            return
        text = self.event_for(payload.message).text if payload.message is not None else payload.data["content"]
        if self.inbox.holds(payload.message_id):
            self.edits[payload.message_id] = text  # being answered: the answer will say it is to the old text
        await self.services.record.mark_edited(payload.message_id, text)

    async def on_partial_message_edit(self, message_id: int, text: str) -> None:
        await self.services.record.mark_edited(message_id, text)  # an edit discord.py could not parse

    def edited_since_taken(self, event: Event) -> bool:
        edited = self.edits.pop(event.message_id, None)
        return edited is not None and edited != event.text

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        if interaction.type == discord.InteractionType.component:
            await self.approvals.on_press(interaction)

    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        await self.services.record.mark_deleted(payload.message_id)

    # ----- queue callbacks -----
    async def _answer(self, job: Job) -> None:
        message = job.message
        assert isinstance(message, discord.Message)
        if (edited := self.edits.pop(job.event.message_id, None)) is not None:
            job.event = job.event.model_copy(update={"text": edited})  # edited while it waited: the new text
        resume = [message.channel.get_partial_message(part) for part in job.resume_parts]  # type: ignore[union-attr]
        self.inbox.hold(job.event.message_id)
        try:
            if not await self.inbox.claim_queued(job.event.message_id, resumed=job.resumed):
                return  # another process answers it (both received it): nothing spent here
            await backfill_context(self, message)
            sink = ReplySink(message, self.proxies.repost_of)
            state = await self.run_reply(job.event, sink, message.channel, resume=resume, track=True)
            self.retries.succeeded(job.event.message_id)
            await self._chime_in(job, state)
        except Exception as exc:
            if not await self.retries.failed(job, exc):  # a dependency was down: answered once it is back
                # Never silent: the member hears that it failed, and the record says so.
                log.exception("reply to %s failed", job.event.message_id)
                with contextlib.suppress(Exception):
                    # answering, or still waiting when the claim itself failed
                    await self.inbox.mark(job.event.message_id, "failed", sources=("waiting", "answering", None))
                await apologise(self, job)
        finally:
            if not self.retries.holds(job.event.message_id):
                self.inbox.release(job.event.message_id)
                self.edits.pop(job.event.message_id, None)

    async def _answers_bots(self, event: Event, message: discord.Message) -> bool:
        """Another bot's message where a cast may answer bots (`/persona cast bots`); never our own."""
        if (self.user is not None and message.author.id == self.user.id) or self.characters.owns(message.webhook_id):
            return False
        settings = await self.services.record.cached_channel_settings(event.channel_id)
        return bool(settings.get("allow_bots")) and bool(await self.services.casts.members(event.channel_id))

    async def _chime_in(self, job: Job, state: dict[str, Any]) -> None:
        """A character spoke: its line goes back through the graph so another may answer it, up to
        OBSERVER_CAST_CHAIN_TURNS in a row (ingest refuses beyond that), so two characters never loop."""
        decision = state.get("decision")
        posted = state.get("posted_ids") or []
        if decision is None or not decision.speaker or not state.get("reply") or state.get("error") or not posted:
            return
        if job.event.chain_depth >= self.services.settings.cast_chain_turns:
            return
        line = job.event.model_copy(
            update={
                "message_id": posted[0],
                "author_id": stable_id("character", decision.speaker),
                "author_name": decision.speaker,
                "author_is_bot": True,
                "text": state["reply"],
                "chain_depth": job.event.chain_depth + 1,
                "mentions_bot": False,
                "reply_to_id": None,
                "reply_to_bot": False,
                "attachments": [],
            }
        )
        await self.queues.submit(Job(line, job.message))

    async def _busy(self, job: Job) -> None:
        """Queue full: the message is still recorded, and a member who asked is told, never ignored."""
        await self.services.record.store_event(job.event)
        self.inbox.release(job.event.message_id)
        if not await self.inbox.claim_queued(job.event.message_id, resumed=job.resumed, to="failed"):
            return  # another process took it: its answer (or its note) is the member's
        if addresses_bot(job.event):
            assert isinstance(job.message, discord.Message)
            self.busy_notes.tell(job.message)
        log.warning(
            "queue full on channel %s; message %s recorded without a run", job.event.channel_id, job.event.message_id
        )

    async def _superseded(self, job: Job) -> None:
        """The member asked again while this waited: keep it as context for the newer question."""
        await self.services.record.store_event(job.event)
        self.inbox.release(job.event.message_id)
        if not await self.inbox.claim_queued(job.event.message_id, resumed=job.resumed, to="skipped"):
            return
        log.info("message %s superseded by a newer one from the same member", job.event.message_id)

    # ----- the graph -----
    def context(self, *, store_reply: bool = False, model: str | None = None, can_approve: bool = False) -> Context:
        settings = self.services.settings
        return Context(
            bot_name=settings.bot_name,
            history_limit=settings.history_limit,
            store_reply=store_reply,
            model=model,
            can_approve=can_approve,
        )

    async def run_graph(self, event: Event) -> dict[str, Any]:
        return dict(await self.unchecked_graph.ainvoke({"event": event}, context=self.context()))

    async def _graph_input(self, event: Event, config: RunnableConfig) -> InputState | None:
        """None resumes the message's checkpointed run where it stopped; otherwise a fresh run's input."""
        if self.checkpointer is not None:
            saved = await self.graph.aget_state(config)
            if saved.next:
                log.info("message %s: resuming its run at %s", event.message_id, ", ".join(saved.next))
                return None
        return InputState(event=event)

    async def run_reply(
        self,
        event: Event,
        sink: Sink,
        typing_in: Any,
        *,
        store_reply: bool = False,
        model: str | None = None,
        resume: list[Any] | None = None,
        track: bool = False,
        command: Command | None = None,
    ) -> dict[str, Any]:
        """Run the graph for one message and stream the answer into `sink`.

        `track`: keep the message's progress in the record (answered, skipped or failed, with the parts
        posted) so a restart can resume it; the caller has claimed it (answering) before anything is
        posted, so a restart looks for a reply only when one may exist. `resume`: parts already posted."""
        run = ReplyRun(self, event, sink, typing_in, resume=resume, track=track)
        config = RunnableConfig(configurable={"thread_id": f"reply:{event.message_id}"})
        # Approval buttons need a paused run to come back to: a checkpointed reply to a channel message.
        can_approve = self.checkpointer is not None and isinstance(sink, ReplySink)
        try:
            stream = self.graph.astream(
                command if command is not None else await self._graph_input(event, config),
                config,
                context=self.context(store_reply=store_reply, model=model, can_approve=can_approve),
                stream_mode=["custom", "values"],
                durability="async" if self.checkpointer is not None else None,
            )
            async for item in reply_events(stream):
                run.on(item)
        except asyncio.CancelledError:
            # Stopped (a shutdown's grace ran out, or another process took the question over): no more
            # calls for this reply from here, not even a pending progress edit.
            run.renderer.abandon()
            raise
        finally:
            await run.stop_streaming()
        state = run.state
        if run.approval is not None and isinstance(sink, ReplySink):
            # Paused: the run stays checkpointed (the message "paused") until someone answers.
            await run.finish()
            await self.approvals.ask(event, sink.message, run.approval)
            return state
        decision = state.get("decision")
        if decision is not None:
            log.info(
                "message %s: %s (%s: %s)",
                event.message_id,
                f"answered with {state.get('model')}" if decision.respond else "no reply",
                decision.source,
                decision.reason,
            )
        error = await run.finish()
        if error:
            self.last_error[event.channel_id] = error
        if track:
            answered = decision is not None and decision.respond
            ended: State = ("failed" if error else "answered") if answered else "skipped"
            await self.inbox.mark(event.message_id, ended, sources=("answering", None))
        if self.checkpointer is not None:
            await self.checkpointer.adelete_thread(f"reply:{event.message_id}")
        return {**state, "posted_ids": [handle.id for handle, _ in run.renderer.sent if handle is not None]}

    async def _show_activity(self, activity: str | None) -> None:
        game = None if activity is None else discord.CustomActivity(name=f"{activity}…")
        await self.change_presence(activity=game)

    def uptime(self) -> float:
        return time.monotonic() - self.started_at
