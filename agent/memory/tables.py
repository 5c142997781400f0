"""SQL tables: the record of what was said, and what answering it cost."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only autoincrements a column typed exactly INTEGER.
AutoId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class Guild(Base):
    __tablename__ = "guilds"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200), default="")


class Channel(Base):
    __tablename__ = "channels"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    guild_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("guilds.id"), nullable=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    is_dm: Mapped[bool] = mapped_column(Boolean, default=False)
    mode: Mapped[str] = mapped_column(String(16), default="mentions")
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # `/observer reset`: the models' window starts after this message (the record keeps everything).
    window_after_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200), default="")
    is_bot: Mapped[bool] = mapped_column(Boolean, default=False)
    # Whether the member's /chat answers are ephemeral ("private") or visible ("public").
    privacy: Mapped[str] = mapped_column(String(16), default="private")


class Message(Base):
    __tablename__ = "messages"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    channel_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("channels.id"))
    author_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"))
    content: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The name the message was shown under when not its author's: a proxied member (PluralKit,
    # Tupperbox) speaks through one account under several names, one per message.
    shown_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    reply_to_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # For the bot's own replies: the message it answered.
    answers_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    edited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Members' messages through a door that tracks them: waiting, answering, answered, skipped,
    # failed, expired (agent/memory/progress.py). Null for the bot's own and untracked messages.
    state: Mapped[str | None] = mapped_column(String(16), nullable=True)
    state_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Platform ids of the reply's messages posted so far: a resumed run edits them, never posts twice.
    reply_parts: Mapped[list[int] | None] = mapped_column(JSON, nullable=True)
    # Seen only by its author: a private `/chat` question and its ephemeral answer. No one's context,
    # summary or thread activity reads it (another member's answer could otherwise repeat it).
    private: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The process (`processes.id`) that claimed the message's run: a survivor resumes it only once
    # that process has stopped beating (agent/memory/processes.py).
    holder: Mapped[str | None] = mapped_column(String(40), nullable=True)

    __table_args__ = (
        Index("ix_messages_channel_id_id", "channel_id", "id"),
        # The dashboard's Live filters (state, member) read the newest first (migration 0015).
        Index("ix_messages_state_id", "state", "id"),
        Index("ix_messages_author_id_id", "author_id", "id"),
        # The dashboard's live feed reads what changed since its last look.
        Index("ix_messages_state_at", "state_at"),
    )


class Usage(Base):
    __tablename__ = "model_usage"
    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    message_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    guild_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    channel_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    user_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    purpose: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(64))
    tokens_in: Mapped[int] = mapped_column(Integer, default=0)
    tokens_out: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    ok: Mapped[bool] = mapped_column(Boolean, default=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (Index("ix_model_usage_guild_created", "guild_id", "created_at"),)


class Feedback(Base):
    """`/feedback` and `/correct`: what members said about the bot's replies."""

    __tablename__ = "feedback"
    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(16))  # feedback | correction
    guild_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    channel_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # the bot's reply it is about
    text: Mapped[str] = mapped_column(Text)
    # `/feedback rating:` good | bad (null: not rated); the trainer learns from rated replies.
    rating: Mapped[str | None] = mapped_column(String(8), nullable=True)


class ModelCooldown(Base):
    """A model that answered 429 (or kept failing) rests until `until`; shared by every process."""

    __tablename__ = "model_cooldowns"
    model: Mapped[str] = mapped_column(String(64), primary_key=True)
    until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str] = mapped_column(Text, default="")


class MemberProfile(Base):
    """What the bot has learned about how a member likes to be answered, per guild (0 for DMs)."""

    __tablename__ = "member_profiles"
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    guild_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    profile: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(32), default="")
    temperature: Mapped[float | None] = mapped_column(Float, nullable=True)
    messages_seen: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Persona(Base):
    """A persona card: who the bot is. Lore and knowledge live in Chroma, keyed by the same name."""

    __tablename__ = "personas"
    scope: Mapped[str] = mapped_column(String(40), primary_key=True)  # global | guild:<id>
    name: Mapped[str] = mapped_column(String(48), primary_key=True)
    description: Mapped[str] = mapped_column(Text, default="")
    style: Mapped[str] = mapped_column(Text, default="")
    examples: Mapped[list[str]] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    talkativeness: Mapped[float] = mapped_column(Float, default=0.5)
    model: Mapped[str] = mapped_column(String(64), default="")
    avatar: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # a card's PNG


class CastMember(Base):
    """A character in a channel's cast (issue I). It witnessed only what came after `joined_after_id`."""

    __tablename__ = "cast_members"
    channel_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    persona: Mapped[str] = mapped_column(String(48), primary_key=True)
    joined_after_id: Mapped[int] = mapped_column(BigInteger)  # a snowflake of the moment it joined
    model: Mapped[str] = mapped_column(String(64), default="")  # `/persona use … model:` for this cast


class PersonaChoice(Base):
    """`/persona use`: which persona speaks in a guild ("guild:<id>") or one channel ("channel:<id>")."""

    __tablename__ = "persona_choices"
    place: Mapped[str] = mapped_column(String(40), primary_key=True)
    persona: Mapped[str] = mapped_column(String(48))


class ToolCall(Base):
    """One tool call the bot made while answering a message: what, with which arguments, what came back."""

    __tablename__ = "tool_calls"
    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    message_id: Mapped[int] = mapped_column(BigInteger)  # the member's message being answered
    guild_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    channel_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int] = mapped_column(BigInteger)
    tool: Mapped[str] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(String(80))  # built-in | mcp:<server>
    arguments: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # ok | failed | refused | denied | timed out
    outcome: Mapped[str] = mapped_column(String(16))
    result: Mapped[str] = mapped_column(Text, default="")  # what the model read, as stored (capped)
    ms: Mapped[float] = mapped_column(Float, default=0.0)

    __table_args__ = (Index("ix_tool_calls_message", "message_id"),)


class GuildSettings(Base):
    """A server's own access lists and quotas (issue J), over the file's defaults."""

    __tablename__ = "guild_settings"
    guild_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    # {"access": {...}, "quotas": {...}}: only what was changed here.
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Process(Base):
    """One running `observer run`, as it last reported itself. Times are the database's clock, in epoch
    seconds, so machines whose clocks disagree still agree on who is alive."""

    __tablename__ = "processes"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[float] = mapped_column(Float)
    seen_at: Mapped[float] = mapped_column(Float)
    layout: Mapped[str] = mapped_column(String(8))  # all | fixed | auto
    shard_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    shards: Mapped[list[int]] = mapped_column(JSON, default=list)


class ShardLease(Base):
    """Automatic shard layout: a shard belongs to `holder` until `expires_at` (database epoch seconds);
    the holder renews it with every heartbeat, and anyone may take it once it has expired."""

    __tablename__ = "shard_leases"
    shard_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    holder: Mapped[str] = mapped_column(String(40))
    expires_at: Mapped[float] = mapped_column(Float)


class MessageNote(Base):
    """What a run decided about a member's message, for whoever looks later (the dashboard): `kind`
    "decision" ({respond, source, reason, method, model, model_reason}) or "reply" ({model,
    first_token_ms, generate_ms}). Appended, never updated: a resumed run adds a newer row."""

    __tablename__ = "message_notes"
    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(16))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (Index("ix_message_notes_message", "message_id"),)


class DashboardLogin(Base):
    """A one-time dashboard login link (`observer dashboard link`): only its token's SHA-256 is kept.
    Used once (`used_at` set by one conditional update) before `expires_at` (epoch seconds)."""

    __tablename__ = "dashboard_logins"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)
    used_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class TrainingExample(Base):
    """An example uploaded for training (`/train example add`, `observer dataset example add`): a chat
    whose last message is the assistant's answer, labelled positive (answer like this) or negative
    (never answer like this)."""

    __tablename__ = "training_examples"
    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    guild_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # null: every server's
    user_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    label: Mapped[str] = mapped_column(String(8))  # positive | negative
    messages: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(120), default="")  # the file's name, or "inline"

    __table_args__ = (Index("ix_training_examples_guild", "guild_id"),)


class TrainingJob(Base):
    """A fine-tuning job (agent/training/jobs.py): queued → running → succeeded | failed | cancelled."""

    __tablename__ = "training_jobs"
    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    guild_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    user_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    provider: Mapped[str] = mapped_column(String(8))  # remote | local
    base: Mapped[str] = mapped_column(String(64))  # the model list's name of the base model
    method: Mapped[str] = mapped_column(String(8))  # sft | dpo
    state: Mapped[str] = mapped_column(String(12))
    # 1 while a local job is queued or running, else null: a unique column, so a second local job is
    # refused by the database itself (two starts at the same moment cannot both win).
    local_slot: Mapped[int | None] = mapped_column(Integer, nullable=True, unique=True)
    train_examples: Mapped[int] = mapped_column(Integer, default=0)
    test_examples: Mapped[int] = mapped_column(Integer, default=0)
    train_bytes: Mapped[int] = mapped_column(Integer, default=0)
    epochs: Mapped[int] = mapped_column(Integer, default=3)
    remote_job_id: Mapped[str | None] = mapped_column(String(120), nullable=True)
    remote_file_id: Mapped[str | None] = mapped_column(String(120), nullable=True)
    # {"step", "steps", "epoch", "loss"}, the newest known.
    progress: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    trained_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cost_usd: Mapped[float | None] = mapped_column(Float, nullable=True)
    cpu_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    model_name: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)  # in the model list
    result_model: Mapped[str | None] = mapped_column(String(200), nullable=True)  # provider's id, or adapter path
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")  # "resumed from checkpoint", "restarted" …
    # Which process drives the job, until when (epoch seconds): a survivor takes it over afterwards.
    holder: Mapped[str | None] = mapped_column(String(40), nullable=True)
    lease_until: Mapped[float | None] = mapped_column(Float, nullable=True)
    worker_pid: Mapped[int | None] = mapped_column(Integer, nullable=True)  # a local run's trainer process
    worker_host: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # The Discord message showing the job's progress (edited as it advances, after restarts too).
    progress_channel_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    __table_args__ = (Index("ix_training_jobs_state", "state"),)


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


# The Core tables, for queries written with `select`/`insert` rather than the ORM.
guilds = _table(Guild)
channels = _table(Channel)
users = _table(User)
messages = _table(Message)
usage = _table(Usage)
feedback = _table(Feedback)
model_cooldowns = _table(ModelCooldown)
member_profiles = _table(MemberProfile)
personas = _table(Persona)
persona_choices = _table(PersonaChoice)
tool_calls = _table(ToolCall)
guild_settings = _table(GuildSettings)
cast_members = _table(CastMember)
processes = _table(Process)
shard_leases = _table(ShardLease)
message_notes = _table(MessageNote)
dashboard_logins = _table(DashboardLogin)
training_examples = _table(TrainingExample)
training_jobs = _table(TrainingJob)
