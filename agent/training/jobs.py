"""Fine-tuning jobs in the record (`training_jobs`): queued → running → succeeded | failed | cancelled.

Every change of state is one conditional UPDATE (`… WHERE state IN (active states)`), so a cancel and a
success racing each other end in exactly one of them. One local job at a time: a queued or running local
job holds `local_slot = 1`, a unique column, so a second one is refused by the database (two starts at
the same moment cannot both pass a check). The process driving a job holds a lease (`holder`,
`lease_until` in epoch seconds) and renews it while it polls; a process that stops (killed) leaves the
lease to run out, and the next poller to look takes the job over.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from agent.memory import tables
from agent.redact import redact

Provider = Literal["remote", "local"]
ACTIVE = ("queued", "running")
FINISHED = ("succeeded", "failed", "cancelled")
T = tables.training_jobs


class LocalJobBusy(Exception):
    """A local job is already queued or running; `job_id` is that job."""

    def __init__(self, job_id: int | None) -> None:
        super().__init__(f"local training job {job_id} is still running" if job_id else "a local job is running")
        self.job_id = job_id


@dataclass(frozen=True)
class Job:
    """One row of `training_jobs` (see agent/memory/tables.py for each field's meaning)."""

    id: int
    created_at: datetime
    updated_at: datetime
    guild_id: int | None
    user_id: int | None
    provider: str
    base: str
    method: str
    state: str
    train_examples: int
    test_examples: int
    train_bytes: int
    epochs: int
    remote_job_id: str | None
    remote_file_id: str | None
    progress: dict[str, Any]
    trained_tokens: int | None
    cost_usd: float | None
    cpu_seconds: float | None
    model_name: str | None
    result_model: str | None
    error: str | None
    note: str
    holder: str | None
    lease_until: float | None
    worker_pid: int | None
    worker_host: str | None
    progress_channel_id: int | None
    progress_message_id: int | None

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    @classmethod
    def of(cls, row: Any) -> Job:
        values = {k: v for k, v in row._mapping.items() if k in cls.__dataclass_fields__}
        values["progress"] = dict(values.get("progress") or {})
        return cls(**values)


class JobStore:
    """The jobs table; one per process, safe to share."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def create(
        self,
        *,
        provider: Provider,
        base: str,
        method: str,
        epochs: int,
        train_examples: int,
        test_examples: int,
        train_bytes: int,
        guild_id: int | None = None,
        user_id: int | None = None,
    ) -> Job:
        """A new queued job. LocalJobBusy when `provider` is local and a local job is queued or running."""
        now = datetime.now(UTC)
        values: dict[str, Any] = {
            "created_at": now,
            "updated_at": now,
            "guild_id": guild_id,
            "user_id": user_id,
            "provider": provider,
            "base": base,
            "method": method,
            "state": "queued",
            "local_slot": 1 if provider == "local" else None,
            "train_examples": train_examples,
            "test_examples": test_examples,
            "train_bytes": train_bytes,
            "epochs": epochs,
            "progress": {},
            "note": "",
        }
        try:
            async with self.engine.begin() as conn:
                new_id = (await conn.execute(T.insert().values(**values))).inserted_primary_key[0]  # type: ignore[index]
        except IntegrityError:
            running = await self._local_holder()
            raise LocalJobBusy(running) from None
        job = await self.get(int(new_id))
        assert job is not None
        return job

    async def _local_holder(self) -> int | None:
        async with self.engine.connect() as conn:
            value = await conn.scalar(select(T.c.id).where(T.c.local_slot == 1))
        return int(value) if value is not None else None

    async def get(self, job_id: int) -> Job | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(T).where(T.c.id == job_id))).first()
        return Job.of(row) if row else None

    async def listing(self, guild_id: int | None = None, limit: int = 10) -> list[Job]:
        """Newest first; `guild_id` None: every server's."""
        query = select(T).order_by(T.c.id.desc()).limit(limit)
        if guild_id is not None:
            query = query.where(T.c.guild_id == guild_id)
        async with self.engine.connect() as conn:
            return [Job.of(r) for r in (await conn.execute(query)).all()]

    async def active(self) -> list[Job]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(T).where(T.c.state.in_(ACTIVE)).order_by(T.c.id))).all()
        return [Job.of(r) for r in rows]

    async def trained_models(self) -> list[Job]:
        """Succeeded jobs that registered a model, oldest first (the model list adds them at start)."""
        query = select(T).where(T.c.state == "succeeded", T.c.model_name.isnot(None)).order_by(T.c.id)
        async with self.engine.connect() as conn:
            return [Job.of(r) for r in (await conn.execute(query)).all()]

    async def claim(self, job_id: int, holder: str, lease_seconds: float) -> bool:
        """Take or renew the job's lease: only when it is active and free, ours, or run out."""
        now = time.time()
        stmt = (
            update(T)
            .where(
                T.c.id == job_id,
                T.c.state.in_(ACTIVE),
                or_(T.c.holder.is_(None), T.c.holder == holder, T.c.lease_until < now),
            )
            .values(holder=holder, lease_until=now + lease_seconds)
        )
        async with self.engine.begin() as conn:
            return (await conn.execute(stmt)).rowcount == 1

    async def release(self, job_id: int, holder: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(update(T).where(T.c.id == job_id, T.c.holder == holder).values(holder=None))

    async def update(self, job_id: int, **values: Any) -> bool:
        """Change an active job (progress, remote ids, `state="running"`); False once it has finished.
        An error or note is stored redacted: it is shown to members by /train status and the progress
        message, and a provider's or trainer's words may carry a key."""
        for key in ("error", "note"):
            if isinstance(values.get(key), str):
                values[key] = redact(values[key])
        values["updated_at"] = datetime.now(UTC)
        async with self.engine.begin() as conn:
            result = await conn.execute(update(T).where(T.c.id == job_id, T.c.state.in_(ACTIVE)).values(**values))
        return result.rowcount == 1

    async def finish(self, job_id: int, state: Literal["succeeded", "failed", "cancelled"], **values: Any) -> bool:
        """End an active job (frees the local slot). False when it had already ended: the first end wins."""
        assert state in FINISHED
        return await self.update(job_id, state=state, local_slot=None, holder=None, **values)

    async def set_progress_message(self, job_id: int, channel_id: int | None, message_id: int | None) -> None:
        """Remember where the job's progress shows (None, None: nowhere, e.g. the message was deleted)."""
        async with self.engine.begin() as conn:
            await conn.execute(
                update(T).where(T.c.id == job_id).values(progress_channel_id=channel_id, progress_message_id=message_id)
            )
