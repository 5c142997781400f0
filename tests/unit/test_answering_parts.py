"""The small parts a queued job is answered with, without a bot: a cast's next line, and edits made while
a message is in hand."""

from __future__ import annotations

from agent.errors import RunError
from agent.events import Decision
from agent.ids import stable_id
from agent.memory.progress import Progress
from agent.stream import RunOutcome
from discord_adapter.cast_chain import next_line
from discord_adapter.edits import Edits
from discord_adapter.inbox import Inbox
from discord_adapter.queues import Job
from discord_adapter.replier import Reply
from tests.conftest import make_event


def spoke(speaker: str | None, text: str = "Arr, a fine question.", error: RunError | None = None) -> Reply:
    decision = Decision(respond=True, speaker=speaker)
    return Reply(RunOutcome(decision=decision, reply=text, error=error), posted_ids=[5001, 5002])


def test_a_characters_line_goes_back_through_the_graph_as_its_own():
    job = Job(make_event("<@1> who sails?", mentions_bot=True), message="the member's message")
    line = next_line(job, spoke("Pirate"), turns=3)
    assert line is not None and line.message == "the member's message"
    assert line.event.message_id == 5001 and line.event.text == "Arr, a fine question."
    assert line.event.author_id == stable_id("character", "Pirate") and line.event.author_is_bot
    assert line.event.chain_depth == 1 and not line.event.mentions_bot


def test_no_next_line_without_a_character_an_answer_or_room_in_the_chain():
    job = Job(make_event("<@1> hi", mentions_bot=True), message=None)
    assert next_line(job, spoke(None), turns=3) is None, "the bot itself answered"
    assert next_line(job, spoke("Pirate", error=RunError("unavailable", "down")), turns=3) is None
    assert next_line(job, Reply(spoke("Pirate").outcome, posted_ids=[]), turns=3) is None, "nothing posted"
    deep = Job(make_event("<@1> hi", chain_depth=3), message=None)
    assert next_line(deep, spoke("Pirate"), turns=3) is None, "the chain is as long as allowed"


def test_edits_count_only_for_messages_in_hand():
    inbox = Inbox(Progress(engine=None))  # type: ignore[arg-type]  # never written: only the in-hand set
    edits = Edits(inbox)
    waiting = make_event("<@1> what is 2+2?")
    edits.saw(waiting.message_id, "<@1> what is 2+3?")
    assert waiting.message_id not in edits, "not in hand: nothing to remember"
    inbox.hold(waiting.message_id)
    edits.saw(waiting.message_id, "<@1> what is 2+3?")
    assert waiting.message_id in edits
    assert edits.latest(waiting).text == "<@1> what is 2+3?", "edited while it waited: the new text"
    assert edits.latest(waiting).text == waiting.text
    edits.saw(waiting.message_id, waiting.text)
    assert not edits.since_taken(waiting), "edited back to what is being answered"
    edits.saw(waiting.message_id, "<@1> never mind")
    assert edits.since_taken(waiting)
    edits.saw(waiting.message_id, "again")
    edits.forget(waiting.message_id)
    assert waiting.message_id not in edits
