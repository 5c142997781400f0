"""A retraction takes back what the round showed, no more: the echo scrubber may have held or removed
part of what the model wrote, and an earlier round's text (a tool round) must stay."""

from __future__ import annotations

from typing import Any

from agent.models.echo import EchoScrubber
from agent.nodes.round_writers import after, scrubbed
from agent.stream import Thinking, Token


class Door:
    """What a door shows, applying stream items as discord_adapter/reply_run.py does."""

    def __init__(self, text: str = "") -> None:
        self.text = text

    def __call__(self, item: Any) -> None:
        if isinstance(item, Token):
            self.text += item.text
        elif isinstance(item, Thinking) and item.retract:
            self.text = self.text[: -item.retract]


def model_wrote(write: Any, pieces: list[str], retract_after: int | None = None) -> None:
    """Pieces as the reader passes them on; after `retract_after` of them, the reader's retraction of
    everything the model wrote so far (as agent/models/thinking.py counts it)."""
    written = ""
    for i, piece in enumerate(pieces):
        if i == retract_after:
            write(Thinking(retract=len(written)))
            written = ""
        write(Token(text=piece))
        written += piece


def test_a_retraction_in_a_later_round_leaves_the_earlier_rounds_text():
    earlier = "I looked it up."
    door = Door(earlier)
    write = scrubbed(EchoScrubber(["Observer", "alice"]), after(earlier, door))
    # The model began inside a think block, with a label the scrubber removed: "Observer: " never showed.
    model_wrote(write, ["Observer: ", "hmm, the tool said 9", "The answer is 9."], retract_after=2)
    assert door.text == "I looked it up.\n\nThe answer is 9."


def test_the_answer_after_a_retraction_is_scrubbed_of_its_own_echoed_label():
    door = Door()
    write = scrubbed(EchoScrubber(["Observer"]), door)
    model_wrote(write, ["thinking about it", "Observer: ", "Nine."], retract_after=1)
    assert door.text == "Nine."


def test_a_retraction_of_text_still_held_by_the_scrubber_shows_nothing_of_it():
    door = Door("Earlier.")
    write = scrubbed(EchoScrubber(["Observer"]), after("Earlier.", door))
    model_wrote(write, ["Obs", "Fine."], retract_after=1)  # "Obs" could still become a label: held
    assert door.text == "Earlier.\n\nFine."
