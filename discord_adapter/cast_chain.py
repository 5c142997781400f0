"""A cast's chained turn on Discord: the character's posted line, queued as its own job."""

from __future__ import annotations

from agent.cast.chain import chained_line
from discord_adapter.queues import Job
from discord_adapter.replier import Reply


def next_line(job: Job, reply: Reply, turns: int) -> Job | None:
    """The job for the line a character just spoke in answer to `job`, or None (see `chained_line`)."""
    posted = reply.posted_ids[0] if reply.posted_ids else None
    line = chained_line(job.event, reply.outcome, posted, turns)
    return None if line is None else Job(line, job.message)
