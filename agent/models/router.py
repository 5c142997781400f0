"""Routing: which configured model can serve this request now.

A model can serve when it is not cooling down, the request fits its context window, and the guild's
daily budget allows its price. Candidates are tried in order: the one asked for, then the operator's
`fallback_order`, then the rest by price. Near the budget (80 %) the cheapest model that fits is
preferred; at the budget only free models remain.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from agent.cache import TtlCache
from agent.models.config import ModelSpec
from agent.models.cooldowns import Cooldown, CooldownStore
from agent.models.registry import ModelRegistry

BUDGET_CAUTION = 0.8
SPEND_CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class Pick:
    name: str
    reason: str
    # Who takes over if it fails, in order (a fallback picks again among them: `pick(among=…)`).
    then: tuple[str, ...] = ()

    @property
    def order(self) -> tuple[str, ...]:
        return (self.name, *self.then)


@dataclass(frozen=True)
class AllBusy:
    seconds: float
    reason: str
    # The models that could take it, in order, once one frees up.
    order: tuple[str, ...] = ()


@dataclass(frozen=True)
class OverBudget:
    reason: str


Route = Pick | AllBusy | OverBudget


class SpendSource(Protocol):
    async def spent_since(self, guild_id: int, since: datetime) -> float: ...


class Router:
    def __init__(
        self,
        registry: ModelRegistry,
        cooldowns: CooldownStore,
        spend: SpendSource,
        *,
        daily_budget_usd: float | None,
        guild_budgets: dict[str, float] | None = None,
    ) -> None:
        """`daily_budget_usd`: each guild's spend per UTC day (None: no limit); `guild_budgets`: by guild
        id (a string, as in observer.toml's `[guild_budgets]`), overriding it."""
        self.registry = registry
        self.cooldowns = cooldowns
        self._spend = spend
        self._daily_budget = daily_budget_usd
        self._guild_budgets = dict(guild_budgets or {})
        self._spent: TtlCache[tuple[int, str], float] = TtlCache(SPEND_CACHE_SECONDS)  # (guild, day) → usd

    def budget_for(self, guild_id: int | None) -> float | None:
        if guild_id is None:
            return self._daily_budget
        return self._guild_budgets.get(str(guild_id), self._daily_budget)

    async def spent_today(self, guild_id: int) -> float:
        today = datetime.now(UTC).date().isoformat()
        cached = self._spent.get((guild_id, today))
        if cached is not None:
            return cached
        start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        usd = await self._spend.spent_since(guild_id, start)
        self._spent.put((guild_id, today), usd)
        return usd

    async def paid_calls_allowed(self, guild_id: int | None) -> bool:
        """False once the guild's daily budget is spent (free models may still serve)."""
        limit = self.budget_for(guild_id)
        return limit is None or guild_id is None or await self.spent_today(guild_id) < limit

    def note_spend(self, guild_id: int | None, usd: float) -> None:
        """Count a call's cost at once, before the cached total is re-read."""
        if guild_id is None:
            return
        key = (guild_id, datetime.now(UTC).date().isoformat())
        total = self._spent.get(key)
        if total is not None:
            self._spent.amend(key, total + usd)

    def order(self, preferred: str | None) -> list[str]:
        config = self.registry.choice
        names = [m.name for m in config.models]
        ranked: list[str] = []
        for name in [preferred, *config.fallback_order]:
            if name in names and name not in ranked:
                ranked.append(name)
        by_price = sorted((m for m in config.models if m.name not in ranked), key=lambda m: m.unit_cost)
        return ranked + [m.name for m in by_price]

    @staticmethod
    def fits(spec: ModelSpec, needed_tokens: int) -> bool:
        return needed_tokens + spec.max_output_tokens <= spec.context_window

    async def available(self) -> list[str]:
        cooling = await self.cooldowns.active()
        return [name for name in self.registry.names if name not in cooling]

    async def cooling(self) -> dict[str, Cooldown]:
        return await self.cooldowns.active()

    async def pick(
        self,
        preferred: str | None,
        *,
        needed_tokens: int = 0,
        guild_id: int | None = None,
        exclude: Sequence[str] = (),
        among: Sequence[str] | None = None,
    ) -> Route:
        """Who answers: the first ready model the message fits, within the guild's budget.

        `among`: the order an earlier pick made for this message (`Pick.then`), for a fallback after a
        failure: the same rules applied to it as things are now (cooling, budget), without `exclude`
        (the models already tried). Unset: the preferred model, the fallback order, then by price."""
        cooling = await self.cooldowns.active()
        known = set(self.registry.names_for(guild_id))
        names = [n for n in self.order(preferred) if n in known] if among is None else [n for n in among if n in known]
        specs = [self.registry.spec(name) for name in names if name not in exclude]
        if not specs:
            waits = [cooling[name].seconds_left() for name in exclude if name in cooling]
            return AllBusy(min(waits, default=0.0), "every model has been tried")
        fitting = [s for s in specs if self.fits(s, needed_tokens)]
        shortened = not fitting
        if shortened:
            # Too long for every window: the largest window takes it, with the message shortened to fit.
            fitting = sorted(specs, key=lambda s: s.context_window, reverse=True)
        limit = self.budget_for(guild_id)
        caution = ""
        free_only = False
        if limit is not None and guild_id is not None:
            spent = await self.spent_today(guild_id)
            if spent >= limit:
                free_only = True
                fitting = [s for s in fitting if s.free]
                if not fitting:
                    return OverBudget(f"today's budget for this server (${limit:.2f}) is spent")
                caution = f"budget spent (${spent:.2f} of ${limit:.2f}): free models only"
            elif spent >= BUDGET_CAUTION * limit:
                fitting = sorted(fitting, key=lambda s: s.unit_cost)
                caution = f"{spent / limit:.0%} of today's budget spent: cheapest model first"
        ready = [s for s in fitting if s.name not in cooling]
        # Then those too small for it, largest first: a fallback's last resort, the message shortened.
        by_window = sorted(specs, key=lambda s: s.context_window, reverse=True)
        order = tuple(s.name for s in fitting)
        order += tuple(s.name for s in by_window if s.name not in order and (s.free or not free_only))
        if not ready:
            wait = min(cooling[s.name].seconds_left() for s in fitting)
            return AllBusy(wait, "every model that fits is cooling down", order)
        first = ready[0]
        if shortened:
            reason = f"message too long for every window; {first.name} has the largest, the message is shortened"
        elif caution:
            reason = caution
        elif first.name == preferred:
            reason = "asked for"
        elif preferred in cooling:
            reason = f"{preferred} is cooling down ({cooling[preferred].reason}); next in the fallback order"
        elif preferred is not None and preferred not in [s.name for s in fitting]:
            reason = f"{preferred} cannot take this request; next that fits"
        else:
            reason = "first available in the fallback order"
        return Pick(first.name, reason, tuple(name for name in order if name != first.name))
