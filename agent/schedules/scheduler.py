"""The scheduler: APScheduler 4 wakes a process when a reminder is due; the record decides who fires it.

Each reminder is one APScheduler schedule (a date trigger for a one-off, a cron trigger in its time zone
for a recurring post) in APScheduler's SQL data store: on PostgreSQL in the schema `apscheduler` of the
record's database, with PostgreSQL's LISTEN/NOTIFY (through psycopg) as the event broker, so several
processes share schedules and each job is taken by one of them (row locks, SKIP LOCKED);
on SQLite in its own file beside the
record (`scheduler.db`, one process). On top of that, a due reminder is claimed in the record by one
conditional update before anything is posted, so even a job run twice (a lease that expired under a
slow process, a schedule re-added by the sweep) delivers once.

A sweep (at start, then every `sweep_seconds`) re-adds a schedule for any pending reminder whose
schedule is gone (a job abandoned by a killed process), and hands back one-offs a dead process claimed
but never finished."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from agent.memory.db import MIGRATION_LOCK_KEY
from agent.schedules.store import ReminderRow, Reminders, ReminderState

log = logging.getLogger(__name__)

TASK_ID = "observer.reminder"
SCHEMA = "apscheduler"
# A one-off left `firing` this long was claimed by a process that died before posting it.
STALE_CLAIM = timedelta(minutes=5)


@dataclass(frozen=True)
class Due:
    """A reminder whose time has come, as the door delivers it. `late_by`: how long after its time it is
    delivered (a bot that was down); `missed`: later than the grace window allows."""

    reminder: ReminderRow
    scheduled_for: datetime
    late_by: timedelta
    missed: bool


Deliver = Callable[[Due], Awaitable[ReminderState]]


class TryAgain(Exception):
    """Raised by a door's `deliver` when the post failed for a reason that passes (a rate limit, the
    platform's server error, the network): the reminder waits and is sent again, while within the grace
    window of its time."""


# A failed one-off is tried again after this long at first, then after three times as long as it is
# already late, up to RETRY_MAX (30 s, 90 s, ~6 min, 10 min, 10 min… ).
RETRY_FIRST = timedelta(seconds=30)
RETRY_MAX = timedelta(minutes=10)


def schedule_id(reminder_id: int) -> str:
    return f"reminder-{reminder_id}"


class ReminderScheduler:
    """Start with `start(deliver)`, stop with `stop()`. `holder`: this process's id, written with each claim."""

    def __init__(
        self,
        reminders: Reminders,
        *,
        data_dir: Path,
        grace: timedelta,
        holder: str,
        sweep_seconds: float = 60.0,
        max_concurrent: int = 100,
        retry_first: timedelta = RETRY_FIRST,
        retry_max: timedelta = RETRY_MAX,
    ) -> None:
        self.reminders = reminders
        self.data_dir = data_dir
        self.grace = grace
        self.holder = holder
        self.sweep_seconds = sweep_seconds
        self.max_concurrent = max_concurrent
        self.retry_first = retry_first
        self.retry_max = retry_max
        self.retried = 0  # deliveries put off after a passing failure (tests)
        self._deliver: Deliver | None = None
        self._scheduler: Any = None
        self._engine: AsyncEngine | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self.fired = 0  # deliveries this process made (bench, tests)

    async def start(self, deliver: Deliver) -> None:
        from apscheduler import AsyncScheduler
        from apscheduler.datastores.sqlalchemy import SQLAlchemyDataStore
        from apscheduler.eventbrokers.local import LocalEventBroker

        self._deliver = deliver
        record = self.reminders.engine
        if record.dialect.name == "postgresql":
            url = record.url.render_as_string(hide_password=False)
            self._engine = create_async_engine(url, pool_size=3, max_overflow=3, pool_pre_ping=True)
            store = SQLAlchemyDataStore(self._engine, schema=SCHEMA)
            await _create_tables_locked(self._engine, store)
            # psycopg's broker: the asyncpg one publishes from a bare callback, which anyio 4.16 refuses.
            # Imported here only: psycopg costs a SQLite bot ~11 MiB it never uses.
            from apscheduler.eventbrokers.psycopg import PsycopgEventBroker

            conninfo = record.url.set(drivername="postgresql").render_as_string(hide_password=False)
            broker: Any = PsycopgEventBroker(conninfo)
        else:
            # Its own file: APScheduler's transactions never wait on the record's, nor the reverse.
            path = (self.data_dir / "scheduler.db").resolve()
            self._engine = create_async_engine(f"sqlite+aiosqlite:///{path}")
            store = SQLAlchemyDataStore(self._engine)
            broker = LocalEventBroker()
        self._scheduler = AsyncScheduler(
            store, broker, identity=self.holder, max_concurrent_jobs=self.max_concurrent, logger=log
        )
        await self._scheduler.__aenter__()
        await self._scheduler.configure_task(TASK_ID, func=self._fire, max_running_jobs=None, misfire_grace_time=None)
        await self._scheduler.start_in_background()
        await self.sweep()
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="reminder sweep")

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        if self._scheduler is not None:
            with contextlib.suppress(Exception):
                await self._scheduler.__aexit__(None, None, None)
            self._scheduler = None
        if self._engine is not None:
            await self._engine.dispose()

    # ----- schedules -----
    async def schedule(self, row: ReminderRow, *, replace: bool = False, at: datetime | None = None) -> None:
        """Make (or with `replace`, make again) the schedule that wakes a process for `row` (a one-off: at
        its time, or at `at`, a retry)."""
        from apscheduler import CoalescePolicy, ConflictPolicy
        from apscheduler.triggers.cron import CronTrigger
        from apscheduler.triggers.date import DateTrigger

        if self._scheduler is None:
            return  # not running here (the console): the running bot's sweep schedules it
        if row.cron is not None:
            trigger: Any = CronTrigger.from_crontab(row.cron, timezone=row.zone)
        else:
            assert row.due_at is not None
            trigger = DateTrigger(at or row.due_at)
        await self._scheduler.add_schedule(
            TASK_ID,
            trigger,
            id=schedule_id(row.id),
            args=(row.id,),
            # Missed occurrences of a recurring post while every process was down: one late run at most.
            coalesce=CoalescePolicy.latest,
            misfire_grace_time=None,  # lateness is ours to judge (grace window, missed note)
            conflict_policy=ConflictPolicy.replace if replace else ConflictPolicy.do_nothing,
        )

    async def unschedule(self, reminder_id: int) -> None:
        if self._scheduler is None:
            return
        from apscheduler import ScheduleLookupError

        with contextlib.suppress(ScheduleLookupError):
            await self._scheduler.remove_schedule(schedule_id(reminder_id))

    async def sweep(self) -> int:
        """Schedules for pending reminders that have none (or, past due, whose job was abandoned); returns
        how many were (re)made."""
        if self._scheduler is None:
            return 0
        released = await self.reminders.release_stale(STALE_CLAIM)
        if released:
            log.warning("reminders: %d claimed by a process that stopped before posting; firing them again", released)
        existing = {s.id: s.next_fire_time for s in await self._scheduler.get_schedules()}
        now = datetime.now(UTC)
        overdue = now - timedelta(seconds=self.sweep_seconds)
        made = 0
        for row in await self.reminders.pending():
            # Past due and its wake-up too (a retry waits on a later one): a job abandoned.
            wakes = existing.get(schedule_id(row.id))
            stuck = row.due_at is not None and row.due_at < overdue and (wakes is None or wakes < overdue)
            if schedule_id(row.id) not in existing or stuck:
                await self.schedule(row, replace=stuck)
                made += 1
        return made

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_seconds)
            try:
                await self.sweep()
            except Exception as exc:  # the database away for a moment: the next sweep tries again
                log.warning("reminder sweep failed: %s", type(exc).__name__)

    # ----- firing -----
    async def _fire(self, reminder_id: int) -> None:
        """APScheduler's job: claim the reminder in the record (once across processes), then deliver it."""
        from apscheduler import current_job

        job = current_job.get()
        row = await self.reminders.get(reminder_id)
        if row is None or self._deliver is None:
            return
        scheduled = (job.scheduled_fire_time or row.due_at or datetime.now(UTC)).astimezone(UTC)
        if row.recurring:
            claimed = await self.reminders.claim_occurrence(reminder_id, scheduled, self.holder)
        else:
            claimed = await self.reminders.claim(reminder_id, self.holder)
            scheduled = row.due_at or scheduled
        if claimed is None:
            return  # another process (or an earlier run) has it, or it was cancelled
        late_by = max(datetime.now(UTC) - scheduled, timedelta(0))
        due = Due(claimed, scheduled, late_by, missed=late_by > self.grace)
        try:
            state = await self._deliver(due)
        except TryAgain as exc:
            if not row.recurring and await self._retry(claimed, scheduled, exc):
                return
            log.warning("reminder %s: delivery failed past its grace window: %s", reminder_id, exc)
            state = "failed"
        except Exception as exc:
            log.warning("reminder %s: delivery failed: %s", reminder_id, type(exc).__name__)
            state = "failed"
        self.fired += 1
        await self.reminders.finish(reminder_id, state)

    async def _retry(self, row: ReminderRow, scheduled: datetime, why: TryAgain) -> bool:
        """Put a one-off back to wait and wake again after a backoff, if that is still within the grace
        window of its time; False when it is not (the caller marks it failed)."""
        now = datetime.now(UTC)
        late = max(now - scheduled, timedelta(0))
        at = now + min(max(self.retry_first, late * 3), self.retry_max)
        if at - scheduled > self.grace:
            return False
        if not await self.reminders.release(row.id, self.holder):
            return True  # cancelled meanwhile
        log.warning("reminder %s: delivery failed (%s); trying again at %s", row.id, why, f"{at:%H:%M:%S}")
        self.retried += 1
        await self.schedule(row, replace=True, at=at)
        return True


async def _create_tables_locked(engine: AsyncEngine, store: Any) -> None:
    """APScheduler's schema and tables, made under the migrations' lock: processes starting together
    would otherwise race on CREATE (PostgreSQL refuses the loser's duplicate type)."""
    async with engine.begin() as conn:
        await conn.execute(select(text(f"pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")))
        await conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
        metadata = store.get_table_definitions()
        await conn.run_sync(metadata.create_all)
        versions = metadata.tables[f"{SCHEMA}.metadata"]
        if await conn.scalar(select(versions.c.schema_version)) is None:
            await conn.execute(versions.insert().values(schema_version=1))
