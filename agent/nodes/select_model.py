"""select_model: turn the decision into a model that can serve now (cooldowns, context window, budget)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langgraph.runtime import Runtime

from agent.events import Decision
from agent.memory.record.notes import NoteSink
from agent.models.registry import ModelRegistry
from agent.models.router import AllBusy, OverBudget, Router
from agent.models.tokens import approx_tokens
from agent.state import Context, State, context_of

# Room the system prompt and persona need besides the message itself, when checking what fits.
PROMPT_OVERHEAD_TOKENS = 400


@dataclass
class SelectModel:
    """The node; collaborators are given when the graph is built."""

    registry: ModelRegistry
    router: Router
    # Where the decision and the model chosen are noted for the dashboard (None: not noted).
    notes: NoteSink | None = None

    async def __call__(self, state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        update = await self._select(state, runtime)
        decision = state.get("decision")
        if self.notes is not None and decision is not None:
            self.notes.queue_note(state["event"].message_id, "decision", _decision_note(decision, update))
        return update

    async def _select(self, state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        decision = state.get("decision")
        if decision is None or not decision.respond:
            return {}
        registry = self.registry
        event = state["event"]
        wanted = [
            (context_of(runtime).model, "set in the run's context"),
            (state.get("speaker_model"), f"{decision.speaker}'s own model"),
            ((state.get("channel_settings") or {}).get("model"), "pinned for this channel"),
            (decision.model, f"picked by the {decision.source}"),
            (registry.default_model, "default model"),
        ]
        allowed = registry.names_for(event.guild_id)  # another server's trained model is not this one's
        preferred, why = next(((n, w) for n, w in wanted if n in allowed), (registry.default_model, "default model"))
        unknown = [n for n, _ in wanted[:4] if n and n not in allowed]
        route = await self.router.pick(
            preferred, needed_tokens=approx_tokens(event.text) + PROMPT_OVERHEAD_TOKENS, guild_id=event.guild_id
        )
        if isinstance(route, OverBudget):
            return {"model": None, "model_reason": route.reason, "route_blocked": route.reason}
        if isinstance(route, AllBusy):
            # generate waits for the first model to free up and tells the member how long.
            return {
                "model": None,
                "model_reason": f"{route.reason} (~{route.seconds:.0f} s)",
                "model_order": list(route.order),
            }
        reason = why if route.name == preferred else route.reason
        if unknown:
            reason += f"; {', '.join(repr(n) for n in unknown)} is not configured"
        # The whole order, routed once: generate's fallback walks it, never asking the router again.
        return {"model": route.name, "model_reason": reason, "model_order": list(route.order)}


def _decision_note(decision: Decision, update: dict[str, Any]) -> dict[str, Any]:
    """The decision as the dashboard shows it: who decided, why, and the model picked and why."""
    return {
        "respond": decision.respond,
        "source": decision.source,
        "reason": decision.reason,
        "method": decision.method,
        "model": update.get("model"),
        "model_reason": update.get("model_reason"),
    }
