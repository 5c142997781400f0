"""Exactly once across processes: a queued message is taken in the record before anything is done
with it, by one conditional UPDATE (waiting → answering, or → skipped / failed when it is dropped).
Two processes that both receive it (started twice with one layout, a gateway replay) both queue it;
the one whose claim loses drops its copy without a word: no run, no note, no turn of the channel's budget.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from agent.memory.progress import State
from agent.memory.retrying import retrying
from discord_adapter.queues import Job

if TYPE_CHECKING:
    from discord_adapter.client import ObserverBot

log = logging.getLogger(__name__)


async def take(bot: ObserverBot, job: Job, to: State = "answering") -> bool:
    """Move the job's message from `waiting` to `to` for this process; False: another process has it.

    A resumed job (recovery, a retry, an approval) was claimed by whoever queued it: only its state is
    written. A message the record does not track (kept out of it, a bot's line, a character's line) has
    no state to claim and is handled as before. Raises the database's error after the record's patience."""
    progress = bot.progress
    message_id = job.event.message_id
    if job.resumed:
        if to != "answering":
            await progress.mark(message_id, to)
        return True
    if await retrying(lambda: progress.claim(message_id, ("waiting",), to=to), progress.patience, "claiming a message"):
        return True
    state = await progress.state(message_id)
    if state is None:  # untracked: nobody can claim it, nothing to compete for
        if to != "answering":
            await progress.mark(message_id, to)
        return True
    log.debug("message %s is %s elsewhere: another process took it", message_id, state)
    return False
