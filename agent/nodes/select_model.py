"""select_model: turn the decision into a model the registry can serve."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agent.services import get_services
from agent.state import Context, State, context_of


async def select_model(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    decision = state.get("decision")
    if decision is None or not decision.respond:
        return {}
    registry = (await get_services()).registry
    names = registry.names
    forced = context_of(runtime).model
    if forced and forced in names:
        return {"model": forced, "model_reason": "set in the run's context"}
    if decision.model and decision.model in names:
        return {"model": decision.model, "model_reason": f"picked by the {decision.source}"}
    reason = "default model"
    if decision.model:
        reason = f"default model ({decision.model!r} is not configured)"
    elif forced:
        reason = f"default model (context names unknown model {forced!r})"
    return {"model": registry.default_model, "model_reason": reason}
