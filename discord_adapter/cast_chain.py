"""A cast's chained turn: a character's line goes back through the graph so another character may
answer it, up to OBSERVER_CAST_CHAIN_TURNS in a row (ingest refuses beyond that), so two never loop."""

from __future__ import annotations

from agent.ids import stable_id
from discord_adapter.queues import Job
from discord_adapter.replier import Reply


def next_line(job: Job, reply: Reply, turns: int) -> Job | None:
    """The job for the line a character just spoke in answer to `job`, or None (nobody spoke, it
    failed, or the chain is as long as allowed)."""
    outcome = reply.outcome
    speaker = outcome.speaker
    if not speaker or not outcome.reply or outcome.error:
        return None
    if not reply.posted_ids or job.event.chain_depth >= turns:
        return None
    line = job.event.model_copy(
        update={
            "message_id": reply.posted_ids[0],
            "author_id": stable_id("character", speaker),
            "author_name": speaker,
            "author_is_bot": True,
            "text": outcome.reply,
            "chain_depth": job.event.chain_depth + 1,
            "mentions_bot": False,
            "reply_to_id": None,
            "reply_to_bot": False,
            "attachments": [],
        }
    )
    return Job(line, job.message)
