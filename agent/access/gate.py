"""The gate every message passes before any model: access lists, flood control, quotas. Cheap by design
(in-memory counts, policies cached), so it runs on every message without slowing the skip path."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from agent.access.flood import FloodWatch
from agent.access.ledger import UsageLedger, key_of
from agent.access.policy import (
    AccessPolicy,
    FloodPolicy,
    QuotaPolicy,
    overlay_access,
    overlay_quotas,
    refusal,
)
from agent.access.quota import over_quota, quota_note
from agent.cache import TtlCache
from agent.events import Event
from agent.member_texts import NOT_HERE, SLOW_DOWN

Verdict = Literal["respond", "skip", "judge"]
POLICY_CACHE_SECONDS = 2.0  # another process sharing the database sees a change within this time


class GuildSettingsSource(Protocol):
    async def guild_settings(self, guild_id: int) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Admission:
    """The gate's word on one message: `skip` overrides the cheap rules' verdict; `note` is said to the
    member (once per window or episode); `store` false keeps a blocked message out of the record."""

    skip: bool = False
    reason: str = ""
    note: str | None = None
    store: bool = True


PASS = Admission()


@dataclass(frozen=True)
class Policies:
    access: AccessPolicy
    quotas: QuotaPolicy


class Gate:
    def __init__(
        self,
        access: AccessPolicy,
        quotas: QuotaPolicy,
        flood: FloodPolicy,
        settings: GuildSettingsSource,
        ledger: UsageLedger | None = None,
    ) -> None:
        self.defaults = Policies(access, quotas)
        self.flood_policy = flood
        self.settings = settings
        self.ledger = ledger or UsageLedger()
        self.flood = FloodWatch()
        self._cache: TtlCache[int, Policies] = TtlCache(POLICY_CACHE_SECONDS)
        self._loading: dict[int, asyncio.Future[Policies]] = {}
        # Who was told what, until when: a note once per window, not on every message.
        self._noted: dict[tuple[int, int, str], float] = {}

    async def policies(self, guild_id: int | None) -> Policies:
        if guild_id is None:
            return self.defaults
        cached = self._cache.get(guild_id)
        if cached is not None:
            return cached
        # One read per guild at a time: messages arriving together share it.
        loading = self._loading.get(guild_id)
        if loading is None:
            loading = self._loading[guild_id] = asyncio.ensure_future(self._load(guild_id))
            loading.add_done_callback(lambda _: self._loading.pop(guild_id, None))
        return await asyncio.shield(loading)

    async def _load(self, guild_id: int) -> Policies:
        stored = await self.settings.guild_settings(guild_id)
        policies = Policies(
            overlay_access(self.defaults.access, stored.get("access", {})),
            overlay_quotas(self.defaults.quotas, stored.get("quotas", {})),
        )
        self._cache.put(guild_id, policies)
        return policies

    def forget(self, guild_id: int) -> None:
        """A setting changed here: the next message reads it."""
        self._cache.forget(guild_id)
        self._loading.pop(guild_id, None)

    async def keeps_out_of_record(self, event: Event) -> bool:
        """Blocked here and the operator wants blocked messages unrecorded: the door does not store it."""
        access = (await self.policies(event.guild_id)).access
        return not access.record_blocked and refusal(access, event) is not None

    async def turned_away(self, event: Event) -> str | None:
        """For a door where the member must hear something (a slash command): why the access lists keep
        them out, as the server's note or a plain line; None when they may ask."""
        access = (await self.policies(event.guild_id)).access
        if refusal(access, event) is None:
            return None
        return access.blocked_note or NOT_HERE

    def arrived(self, event: Event) -> None:
        """The door saw an addressed message arrive (it may wait in a queue before the graph runs)."""
        if not event.author_is_bot:
            self.flood.arrived(key_of(event.guild_id, event.author_id), event.message_id, time.monotonic())

    async def admit(self, event: Event, verdict: Verdict) -> Admission:
        policies = await self.policies(event.guild_id)
        addressed = verdict == "respond"
        why = refusal(policies.access, event)
        if why is not None:
            note = policies.access.blocked_note or None
            if note is not None and not (addressed and self._first_note(event, "blocked", float("inf"))):
                note = None
            return Admission(True, f"access: {why}", note, store=policies.access.record_blocked)
        if verdict == "skip" or event.author_is_bot:
            return PASS
        key = key_of(event.guild_id, event.author_id)
        if addressed:
            now = time.monotonic()
            self.flood.arrived(key, event.message_id, now)
            if self.flood.flooding(key, event.message_id, self.flood_policy, now):
                first = self.flood.skip(key, self.flood_policy, now)
                return Admission(True, "flood: too many messages in a few seconds", SLOW_DOWN if first else None)
        limits = policies.quotas.limits_for(event.rights.role_ids)
        wall = time.time()
        over = over_quota(limits, self.ledger, key, wall)
        if over is None:
            return PASS
        note = None
        if addressed and self._first_note(event, over.limit, over.free_at or float("inf")):
            note = quota_note(over, wall)
        return Admission(True, f"quota: {over.used}", note)

    def _first_note(self, event: Event, what: str, until: float) -> bool:
        key = (event.guild_id or 0, event.author_id, what)
        if self._noted.get(key, float("-inf")) > time.time():
            return False
        self._noted[key] = until
        return True
