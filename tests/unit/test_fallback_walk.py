"""The fallback walk: after a model fails, the next one comes from the order routing made once, with
what has changed since (a model cooling down, a budget spent) taken into account."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from agent.models.config import ModelChoice, ModelSpec
from agent.models.cooldowns import Cooldown
from agent.models.registry import ModelRegistry
from agent.models.router import AllBusy, OverBudget, Pick, Route, Router


async def next_candidate(router: Router, order, tried, *, needed_tokens: int, guild_id: int) -> Route:
    """What a reply's fallback asks after a failure (agent/models/calls.py)."""
    return await router.pick(None, needed_tokens=needed_tokens, guild_id=guild_id, exclude=tried, among=order)


class Cooling:
    def __init__(self, *names: str) -> None:
        until = datetime.now(UTC) + timedelta(seconds=30)
        self.now = {name: Cooldown(name, until, 1, "429") for name in names}

    async def active(self) -> dict[str, Cooldown]:
        return self.now


class Spent:
    def __init__(self, usd: float) -> None:
        self.usd = usd

    async def spent_since(self, guild_id: int, since: datetime) -> float:
        return self.usd


def router(tmp_path: Path, cooling: Cooling, spent: float = 0.0, budget: float | None = None) -> Router:
    models = (
        ModelSpec(name="big", model="b", context_window=32_000, max_output_tokens=500, cost_per_1k_input=0.01),
        ModelSpec(name="mid", model="m", context_window=8_000, max_output_tokens=500, cost_per_1k_input=0.01),
        ModelSpec(name="small", model="s", context_window=2_000, max_output_tokens=500),
    )
    registry = ModelRegistry(ModelChoice.of(*models), cache_dir=tmp_path)
    return Router(registry, cooling, Spent(spent), daily_budget_usd=budget)  # type: ignore[arg-type]


async def test_the_next_model_is_the_next_in_order_that_is_not_tried_or_cooling(tmp_path: Path):
    order = ("big", "mid", "small")
    walk = router(tmp_path, Cooling())
    picked = await next_candidate(walk, order, ["big"], needed_tokens=100, guild_id=1)
    assert picked == Pick("mid", "first available in the fallback order", ("small",))
    cooled = router(tmp_path, Cooling("mid"))
    picked = await next_candidate(cooled, order, ["big"], needed_tokens=100, guild_id=1)
    assert isinstance(picked, Pick) and picked.name == "small"
    # All tried: how long until the first of them frees up.
    done = await next_candidate(router(tmp_path, Cooling("big")), order, list(order), needed_tokens=100, guild_id=1)
    assert isinstance(done, AllBusy) and 0 < done.seconds <= 30


async def test_a_message_too_long_for_what_is_left_goes_to_the_largest_window_shortened(tmp_path: Path):
    picked = await next_candidate(
        router(tmp_path, Cooling()), ("big", "mid", "small"), ["big"], needed_tokens=9_000, guild_id=1
    )
    assert isinstance(picked, Pick) and picked.name == "mid" and "shortened" in picked.reason


async def test_a_budget_spent_meanwhile_leaves_only_free_models(tmp_path: Path):
    spent = router(tmp_path, Cooling(), spent=5.0, budget=1.0)
    picked = await next_candidate(spent, ("big", "mid", "small"), ["big"], needed_tokens=100, guild_id=1)
    assert isinstance(picked, Pick) and picked.name == "small"
    none_free = await next_candidate(spent, ("big", "mid"), ["big"], needed_tokens=100, guild_id=1)
    assert isinstance(none_free, OverBudget) and "budget" in none_free.reason
