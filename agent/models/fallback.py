"""Who answers next when a model fails: the models routing put in order once (select_model, through
`Router.pick`), walked here, never routed again. Those the message fits come first (the rest only once
they are all tried, with the message shortened); one cooling down now is skipped; a budget spent
meanwhile leaves the free ones; with none ready, how long until the first frees up."""

from __future__ import annotations

from collections.abc import Sequence

from agent.models.router import AllBusy, OverBudget, Pick, Route, Router


async def next_candidate(
    router: Router, order: Sequence[str], tried: Sequence[str], *, needed_tokens: int, guild_id: int | None
) -> Route:
    cooling = await router.cooldowns.active()
    known = set(router.registry.names)
    left = [name for name in order if name not in tried and name in known]
    if not left:
        waits = [cooling[name].seconds_left() for name in tried if name in cooling]
        return AllBusy(min(waits, default=0.0), "every model has been tried", tuple(order))
    if not await router.paid_calls_allowed(guild_id):
        left = [name for name in left if router.registry.spec(name).free]
        if not left:
            return OverBudget(f"today's budget for this server (${router.budget_for(guild_id) or 0:.2f}) is spent")
    fits = [name for name in left if router.fits(router.registry.spec(name), needed_tokens)]
    candidates = fits or left  # too long for every window left: the largest takes it, shortened
    ready = [name for name in candidates if name not in cooling]
    if not ready:
        wait = min(cooling[name].seconds_left() for name in candidates)
        return AllBusy(wait, "every model that fits is cooling down", tuple(order))
    if not fits:
        return Pick(
            ready[0], f"message too long for every window; {ready[0]} has the largest, the message is shortened"
        )
    return Pick(ready[0], "first available in the fallback order")
