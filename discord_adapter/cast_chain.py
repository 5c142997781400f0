"""A cast's chained turn: a character's line goes back through the graph so another character may
answer it, up to OBSERVER_CAST_CHAIN_TURNS in a row (ingest refuses beyond that), so two never loop."""

from __future__ import annotations

from agent.ids import stable_id
from discord_adapter.queues import Job
from discord_adapter.replier import Reply


def next_line(job: Job, reply: Reply, turns: int) -> Job | None:
    """The job for the line a character just spoke in answer to `job`, or None (nobody spoke, it
    failed, or the chain is as long as allowed)."""
    state = reply.state
    decision = state.get("decision")
    if decision is None or not decision.speaker or not state.get("reply") or state.get("error"):
        return None
    if not reply.posted_ids or job.event.chain_depth >= turns:
        return None
    line = job.event.model_copy(
        update={
            "message_id": reply.posted_ids[0],
            "author_id": stable_id("character", decision.speaker),
            "author_name": decision.speaker,
            "author_is_bot": True,
            "text": state["reply"],
            "chain_depth": job.event.chain_depth + 1,
            "mentions_bot": False,
            "reply_to_id": None,
            "reply_to_bot": False,
            "attachments": [],
        }
    )
    return Job(line, job.message)
