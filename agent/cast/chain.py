"""A cast's chained turn, for every door: the line a character just spoke goes back through the graph
as that character's own message, so another character may answer it, up to OBSERVER_CAST_CHAIN_TURNS
in a row (ingest refuses beyond that), so two characters never loop."""

from __future__ import annotations

from agent.events import Event
from agent.ids import stable_id
from agent.stream import RunOutcome


def chained_line(answered: Event, outcome: RunOutcome, posted_id: int | None, turns: int) -> Event | None:
    """The event for the line a character spoke in answer to `answered`, posted as `posted_id`; None
    when nobody (or the bot itself) spoke, the run failed, nothing was posted, or the chain is as long as
    allowed."""
    speaker = outcome.speaker
    if not speaker or not outcome.reply or outcome.error is not None or posted_id is None:
        return None
    if answered.chain_depth >= turns:
        return None
    return answered.model_copy(
        update={
            "message_id": posted_id,
            "author_id": stable_id("character", speaker),
            "author_name": speaker,
            "author_is_bot": True,
            "text": outcome.reply,
            "chain_depth": answered.chain_depth + 1,
            "mentions_bot": False,
            "reply_to_id": None,
            "reply_to_bot": False,
            "attachments": [],
        }
    )
