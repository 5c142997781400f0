"""A cast's chained turn is one domain step every door calls (issue K2: the console's copy had drifted)."""

from __future__ import annotations

from agent.cast.chain import chained_line
from agent.events import Decision
from agent.stream import RunOutcome
from tests.conftest import make_event


def test_a_characters_line_is_its_own_message_not_addressed_to_the_bot_and_the_chain_is_bounded():
    asked = make_event("<@1> who sails?", mentions_bot=True, reply_to_bot=True)
    spoke = RunOutcome(decision=Decision(respond=True, speaker="Pirate"), reply="Arr.")
    line = chained_line(asked, spoke, posted_id=77, turns=2)
    assert line is not None and line.message_id == 77 and line.author_name == "Pirate" and line.text == "Arr."
    assert not line.mentions_bot and not line.reply_to_bot and line.chain_depth == 1
    again = chained_line(line, spoke, posted_id=78, turns=2)
    assert again is not None and again.chain_depth == 2
    assert chained_line(again, spoke, posted_id=79, turns=2) is None, "two chained turns, then it stops"
    bot_itself = RunOutcome(decision=Decision(respond=True), reply="Hello.")
    assert chained_line(asked, bot_itself, posted_id=80, turns=2) is None
