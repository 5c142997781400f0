"""The long-lived things nodes use (record, models, prompts, Chroma), one set per process.

Doors build them once and hand them to `graphs.reply.build`, which gives each node only the
collaborators it uses; LangGraph Studio gets its set from `graphs.studio`.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from agent import startup_faults
from agent.access.gate import Gate
from agent.access.ledger import DAY
from agent.cadence import Cadence
from agent.cast.store import CastStore
from agent.config import ObserverConfig, load_config
from agent.errors import ConfigError
from agent.ids import stable_id
from agent.memory.chroma import LazyChroma
from agent.memory.db import create_engine, upgrade
from agent.memory.embeddings import Embedder, LocalE5Embedder, OpenAIEmbedder
from agent.memory.knowledge import MemoryStore
from agent.memory.persona_files import PersonaCard
from agent.memory.personas import DEFAULT_PERSONA, PersonaCatalog
from agent.memory.record import Record
from agent.memory.retrying import retrying
from agent.memory.scopes import GLOBAL
from agent.models.cooldowns import CooldownStore
from agent.models.registry import ModelRegistry
from agent.models.router import Router
from agent.profiles import ProfileRefresher
from agent.prompts import PromptLibrary
from agent.schedules.store import Reminders
from agent.settings import Settings
from agent.tools.builtin import builtin_tools
from agent.tools.mcp import McpHub
from agent.tools.reminders import reminder_tools
from agent.tools.toolbox import Toolbox
from agent.tools.web import web_tools
from agent.voice.stt import Transcriber
from agent.voice.tts import Speaker

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    config: ObserverConfig  # observer.toml
    record: Record
    registry: ModelRegistry
    prompts: PromptLibrary
    memory: MemoryStore
    personas: PersonaCatalog
    embedder: Embedder
    bot_user_id: int
    cadence: Cadence
    router: Router
    profiles: ProfileRefresher
    transcriber: Transcriber
    speaker: Speaker
    toolbox: Toolbox
    gate: Gate
    casts: CastStore
    reminders: Reminders  # reminders and scheduled posts (agent/schedules)

    async def close(self) -> None:
        await self.toolbox.hub.close()
        await self.profiles.drain()
        await self.record.close()


def _prepare(settings: Settings) -> tuple[ObserverConfig, ModelRegistry, PromptLibrary, Any]:
    """The file-system half of start-up (config, prompts, Chroma files): run in a worker thread."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    config = load_config(settings.resolved_config_path())
    prompts = PromptLibrary(settings.prompts_dir, override_root=settings.data_dir / "prompts")
    prompts.check_all()
    registry = ModelRegistry(
        config.model_choice,
        cache_dir=settings.data_dir / "models",
        bot_name=settings.bot_name,
        local_model_path=settings.local_model_path,
        local_threads=settings.local_model_threads,
        local_context=settings.local_context_tokens,
    )
    return config, registry, prompts, LazyChroma(settings.data_dir, settings.chroma_url)


def make_embedder(settings: Settings) -> Embedder:
    if settings.embedding_provider == "local":
        return LocalE5Embedder(centers_folder=settings.data_dir / "models")
    key = os.environ.get(settings.embedding_api_key_env)
    if settings.embedding_base_url is None and not key:
        raise ConfigError(
            f"OBSERVER_EMBEDDING_PROVIDER=openai needs {settings.embedding_api_key_env} set "
            "(or OBSERVER_EMBEDDING_BASE_URL for a local server)"
        )
    return OpenAIEmbedder(
        settings.embedding_model,
        settings.embedding_base_url,
        key,
        query_prefix=settings.embedding_query_prefix,
        passage_prefix=settings.embedding_passage_prefix,
    )


async def build_services(settings: Settings, *, embedder: Embedder | None = None, answering: bool = False) -> Services:
    """Validate config and prompts, migrate the database, open Chroma, seed the default persona.

    A known start-up fault (read-only or full data dir, locked database, unreachable PostgreSQL or
    Chroma) is a ConfigError: one line naming the problem and the fix. `answering`: a door that will
    answer members (console, bot) — a local model that answers first loads in the background while the
    rest starts."""
    try:
        return await _build_services(settings, embedder, answering)
    except ConfigError:
        raise
    except Exception as exc:
        line = startup_faults.explain(exc, settings)
        if line is None:
            raise
        raise ConfigError(line) from None


async def _build_services(settings: Settings, embedder: Embedder | None, answering: bool) -> Services:
    await asyncio.to_thread(startup_faults.check_data_dir, settings)
    config, registry, prompts, client = await asyncio.to_thread(_prepare, settings)
    loading = registry.preload_local() if answering else []
    if answering:
        loading.append(registry.warm())  # remote clients, beside the rest of start-up and the bot's connection
    try:
        return await _build_the_rest(settings, embedder, config, registry, prompts, client)
    except BaseException:
        # A model still loading in its thread when the interpreter exits ends the process without a
        # word (llama.cpp at shutdown): let it finish, so the start-up error is printed.
        for thread in loading:
            await asyncio.to_thread(thread.join)
        raise


async def _build_the_rest(
    settings: Settings,
    embedder: Embedder | None,
    config: ObserverConfig,
    registry: ModelRegistry,
    prompts: PromptLibrary,
    client: Any,
) -> Services:
    await asyncio.to_thread(startup_faults.check_sqlite_lock, settings)
    engine = await asyncio.to_thread(create_engine, settings.resolved_database_url(), log_content=settings.log_content)
    await upgrade(engine)
    embedder = embedder or make_embedder(settings)
    memory = await asyncio.to_thread(MemoryStore, client, embedder)
    if isinstance(embedder, LocalE5Embedder) and not await asyncio.to_thread(memory.is_empty):
        # Loading the model (~0.5 s) at start, not on the first member's message (which only needs it
        # when there is something to search).
        await asyncio.to_thread(embedder.embed_query, "warm up")
    personas = PersonaCatalog(engine)
    # The default persona is prompts/persona.md, re-read at every start.
    persona_text = await prompts.arender("persona", bot_name=settings.bot_name)
    default = PersonaCard(DEFAULT_PERSONA, persona_text, source="prompts/persona.md")
    # A database another process holds locked for a moment is waited out, not a failed start.
    await retrying(lambda: personas.save(default, GLOBAL), settings.record_retry_seconds, "saving the default persona")
    record = Record(engine, patience=settings.record_retry_seconds, backlog=settings.record_backlog)
    # Models fine-tuned earlier (issue T) join the model list, so /model set and the judge can use them.
    from agent.training.jobs import JobStore
    from agent.training.runner import register_trained

    await register_trained(JobStore(engine), registry)
    hub = McpHub(config.mcp_servers)
    await hub.start()
    reminders = Reminders(engine, per_member=settings.reminders_per_member)
    builtins = [
        *builtin_tools(record, memory),
        *web_tools(config.web, config.tool_result_tokens),
        *reminder_tools(reminders, record),
    ]
    toolbox = Toolbox(builtins, hub, result_tokens=config.tool_result_tokens)
    router = Router(
        registry,
        CooldownStore(engine),
        record,
        daily_budget_usd=settings.daily_budget_usd,
        guild_budgets=config.guild_budgets,
    )
    gate = await open_gate(config, record)
    return Services(
        settings=settings,
        config=config,
        record=record,
        registry=registry,
        prompts=prompts,
        memory=memory,
        personas=personas,
        embedder=embedder,
        bot_user_id=stable_id("user", settings.bot_name),
        cadence=Cadence(settings.auto_every_n, settings.auto_quiet_seconds),
        router=router,
        profiles=ProfileRefresher(settings.profile_every_n),
        transcriber=Transcriber(
            settings.whisper_model,
            settings.whisper_language,
            settings.data_dir / "models" / "whisper",
            settings.whisper_threads,
        ),
        speaker=Speaker(settings.piper_voice, settings.piper_voices),
        toolbox=toolbox,
        gate=gate,
        casts=CastStore(engine),
        reminders=reminders,
    )


async def open_gate(config: ObserverConfig, record: Record) -> Gate:
    """The access and quota gate, its ledger started from the record's last day (a restart resets no
    one's quota) and then fed each usage row as it is queued."""
    gate = Gate(config.access, config.quotas, config.flood, record)
    gate.ledger.seed(await record.member_usage_since(datetime.now(UTC) - timedelta(seconds=DAY)))
    record.usage_listeners.append(gate.ledger.note)
    return gate


async def reread_quotas(gate: Gate, record: Record) -> None:
    """The quota ledger read again from the record (several processes: a shard taken over from another
    process brings servers whose members' usage that process recorded)."""
    await record.flush()  # our own rows written behind first, so none is missing from what is read
    gate.ledger.reseed(await record.member_usage_since(datetime.now(UTC) - timedelta(seconds=DAY)))
