"""The Discord client: translates gateway events into graph runs and the graph's stream into messages."""

from __future__ import annotations

import asyncio
import logging
import time
from functools import partial
from typing import Any

import discord
from discord import app_commands

from agent.arrival import Arrival
from agent.events import Event
from agent.memory.processes import Me, Processes
from agent.memory.progress import Progress
from agent.rules import addresses_bot
from agent.services import Services
from agent.training.jobs import JobStore
from agent.training.runner import RunnerOptions, TrainingRunner
from discord_adapter import event_guard
from discord_adapter.answering import Answering
from discord_adapter.approval_desk import ApprovalDesk
from discord_adapter.approvals import ApprovalButton
from discord_adapter.arrivals import Arrivals
from discord_adapter.busy_notes import BusyNotes
from discord_adapter.characters import CharacterDesk
from discord_adapter.context import backfill_context
from discord_adapter.edits import Edits
from discord_adapter.gateway_close import DrainOnce, close_after_drain
from discord_adapter.inbox import Inbox
from discord_adapter.links import LinkReader
from discord_adapter.presence import Presence
from discord_adapter.proxies import Proxies, take_repost
from discord_adapter.queues import ChannelQueues, Job
from discord_adapter.recovery import catch_up, resume_unfinished
from discord_adapter.replier import Replier
from discord_adapter.reply_run import Surroundings
from discord_adapter.retries import Retries
from discord_adapter.shard_hold import ShardHold
from discord_adapter.shard_ready import keep_shard_readies
from discord_adapter.stream import ChannelBudget
from discord_adapter.threads import ThreadDesk
from discord_adapter.training import TrainingDesk
from discord_adapter.translate import Translator

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
        # discord.py messages → Events, for every part of the door that reads one; the user is set at login.
        self.translate = Translator(services.config.prefixes_for)
        self.started_at = time.monotonic()
        self.tree = app_commands.CommandTree(self)
        # The queues end each job through `answering`, given below once what it uses exists.
        self.queues = ChannelQueues(settings.channel_queue_size, parallel=settings.channel_parallel_replies)
        # Live messages wait, per shard, while a recovery pass queues older ones (see shard_hold.py).
        self.shard_hold = ShardHold(self.recover, self.queues.submit)
        self.budget = ChannelBudget(settings.edit_interval_seconds)
        self.busy_notes = BusyNotes(self.budget)  # every call to Discord in a channel takes a turn of its budget
        self.me = me or Me()
        self.processes = Processes(services.record.engine, self.me, settings.process_lease_seconds)
        self.progress = Progress(services.record.engine, services.record.patience, holder=self.me.id)
        # Fine-tuning jobs (issue T): driven by this process while it holds their lease; progress shown here.
        jobs = JobStore(services.record.engine)
        self.training_desk = TrainingDesk(self, jobs, self.budget)
        self.training = TrainingRunner(
            jobs,
            services.registry,
            settings.data_dir,
            self.me.id,
            RunnerOptions(poll_seconds=settings.training_poll_seconds, lease_seconds=settings.training_lease_seconds),
            on_change=self.training_desk.show,
        )
        services.record.holder = self.me.id
        # Messages this process took in and has not finished, and every move of their states.
        arrival = Arrival(services.record, services.memory, services.gate, services.config.prefixes_for)
        self.inbox = Inbox(self.progress, arrival)
        self.edits = Edits(self.inbox)
        self.presence = Presence(self._show_activity)
        self.characters = CharacterDesk(self, services.personas, self.budget)
        self.proxies = Proxies()
        self.threads = ThreadDesk(services.record)  # automatic threads: which are followed, which closed
        around = Surroundings(
            self,
            self.budget,
            self.presence,
            self.progress,
            self.characters,
            services.speaker,
            settings.voice_with_text,
            self.edits.since_taken,
            lambda event: services.record.shows_footer(event.guild_id),
        )
        from graphs.reply import attachment_limits, build

        # Reply runs are checkpointed (when a checkpointer is given): a restart resumes, not repeats.
        graph = build(services, checkpointer=checkpointer)
        self.replier = Replier(graph, around, self.inbox, settings, checkpointer=checkpointer, notes=services.record)
        self.approvals = ApprovalDesk(self.replier, self.inbox, self.budget, services.gate)
        self.replier.ask_approval = self.approvals.ask
        self.add_dynamic_items(ApprovalButton)  # presses of any approval button, posted before a restart too
        self.arrivals = Arrivals(
            services.record, self.replier.record, self.inbox, self.budget, self.shard_hold, self.queues.submit
        )
        self.retries = Retries(self, settings.resume_window, self.inbox, self.budget, self.queues)
        # Messages a member links to, for a message's answer and for /chat alike.
        self.links = LinkReader(
            services.record,
            self.translate,
            attachment_limits(services),
            settings.linked_messages,
            services.record.channel_mode,
        )
        self.answering = Answering(
            self.inbox,
            self.replier,
            self.retries,
            self.edits,
            record=services.record,
            busy_notes=self.busy_notes,
            budget=self.budget,
            reposts=self.proxies.repost_of,
            backfill=partial(backfill_context, services.record, settings.reply_chain_limit, self.translate),
            submit=self.queues.submit,
            chain_turns=settings.cast_chain_turns,
            links=self.links,
        )
        self.queues.ends = self.answering
        # The first message each channel delivered live since the gateway (re)connected: catch-up reads
        # history from the last recorded message before it, whatever arrived live meanwhile.
        self.first_live: dict[int, int] = {}
        self._drained = DrainOnce()
        self.launched = asyncio.Event()  # every shard it started with is connected (shard_keeper.py)

    def _get_state(self, **options: Any) -> Any:
        # One bad event never ends a shard; every shard's READY reaches on_shard_ready.
        return keep_shard_readies(event_guard.guard_state(super()._get_state(**options)))

    on_error = event_guard.handler_failed

    # ----- lifecycle -----
    async def setup_hook(self) -> None:
        self.translate.user = self.user  # logged in: the bot's own mentions and replies can be read
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
        self.translate.user = self.user  # each READY brings the bot's user afresh
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
    async def on_message(self, message: discord.Message) -> None:
        event = self.translate(message)
        if message.webhook_id is not None and not self.characters.owns(message.webhook_id):
            if await take_repost(self.proxies, self.inbox, message, event):
                return  # a proxied member's repost: theirs, answered once (the original's answer goes to it)
        self.first_live.setdefault(event.channel_id, event.message_id)
        if message.author.bot:
            if await self._answers_bots(event, message):
                await self.queues.submit(Job(event, message))  # a cast that may answer other bots
                return
            # Our own echoes and other bots: recorded through the graph at once, never queued behind members.
            await self.arrivals.through_graph(event)
            return
        self.proxies.saw(message)
        event = await self.threads.mark_followed(message, event)  # a conversation thread: to the bot
        if addresses_bot(event):
            self.services.gate.arrived(event)  # flood control counts messages still waiting in a queue
        await self.arrivals.arrive(Job(event, message))  # the arrival step, then queued

    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        if "content" not in payload.data:
            return
        text = self.translate(payload.message).text if payload.message is not None else payload.data["content"]
        self.edits.saw(payload.message_id, text)  # being answered: the answer will say it is to the old text
        await self.services.record.mark_edited(payload.message_id, text)

    async def on_partial_message_edit(self, message_id: int, text: str) -> None:
        await self.services.record.mark_edited(message_id, text)  # an edit discord.py could not parse

    async def on_thread_update(self, before: discord.Thread, after: discord.Thread) -> None:
        await self.threads.closed(after)  # archived or locked: no longer followed

    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        await self.services.record.mark_deleted(payload.message_id)

    async def _answers_bots(self, event: Event, message: discord.Message) -> bool:
        """Another bot's message where a cast may answer bots (`/persona cast bots`); never our own."""
        if (self.user is not None and message.author.id == self.user.id) or self.characters.owns(message.webhook_id):
            return False
        settings = await self.services.record.cached_channel_settings(event.channel_id)
        return bool(settings.get("allow_bots")) and bool(await self.services.casts.members(event.channel_id))

    async def _show_activity(self, activity: str | None) -> None:
        game = None if activity is None else discord.CustomActivity(name=f"{activity}…")
        await self.change_presence(activity=game)

    def uptime(self) -> float:
        return time.monotonic() - self.started_at
