"""Tokens close together leave the generate node as one write; the first at once, none lost or reordered."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.nodes.token_batches import TokenBatcher
from agent.stream import Notice, Thinking, Token


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def texts(written: list[Any]) -> list[str]:
    return [w.text if isinstance(w, Token) else type(w).__name__ for w in written]


def batching(interval_s: float = 0.05) -> tuple[list[Any], Clock, TokenBatcher]:
    """What was written, the batcher's clock, and the batcher."""
    written: list[Any] = []
    clock = Clock()
    return written, clock, TokenBatcher(written.append, interval_s=interval_s, clock=clock)


async def test_the_first_token_goes_out_at_once_and_a_burst_after_it_as_one_write():
    written, clock, batcher = batching()
    batcher(Token(text="Hel"))
    assert texts(written) == ["Hel"], "the member sees the answer start without waiting"
    for piece in ("lo", ",", " wor", "ld"):
        clock.now += 0.005
        batcher(Token(text=piece))
    assert texts(written) == ["Hel"], "held while the interval runs"
    await asyncio.sleep(0.1)  # the interval's timer fires
    assert texts(written) == ["Hel", "lo, world"]


async def test_a_token_after_a_pause_goes_out_at_once():
    written, clock, batcher = batching()
    batcher(Token(text="a"))
    clock.now += 1.0  # a slow model: one token a second
    batcher(Token(text="b"))
    assert texts(written) == ["a", "b"]


async def test_other_stream_items_keep_their_place_after_the_held_text():
    written, clock, batcher = batching(10)
    batcher(Token(text="<think"))
    batcher(Token(text="ing>"))
    batcher(Thinking(retract=10))
    batcher(Token(text="x"))
    batcher(Notice(text="busy"))
    batcher.flush()
    # A retraction counts characters already streamed: they must all be out before it.
    assert texts(written) == ["<think", "ing>", "Thinking", "x", "Notice"]


async def test_flush_at_the_end_of_the_round_writes_what_is_held_and_stops_the_timer():
    written, clock, batcher = batching()
    batcher(Token(text="a"))
    batcher(Token(text="b"))
    batcher.flush()
    await asyncio.sleep(0.1)
    assert texts(written) == ["a", "b"], "written once, not again by the timer"


@given(st.lists(st.tuples(st.text(min_size=1, max_size=5), st.floats(min_value=0, max_value=0.2)), max_size=40))
def test_the_text_that_goes_out_is_exactly_the_text_that_came_in(pieces: list[tuple[str, float]]):
    async def run() -> list[Any]:
        written: list[Any] = []
        clock = Clock()
        batcher = TokenBatcher(written.append, interval_s=0.05, clock=clock)
        for text, gap in pieces:
            clock.now += gap
            batcher(Token(text=text))
        batcher.flush()
        return written

    written = asyncio.run(run())
    assert "".join(texts(written)) == "".join(text for text, _ in pieces)
    assert len(written) <= len(pieces)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("token"), st.text(min_size=1, max_size=4), st.sampled_from([0, 0, 2, 30])),
            st.tuples(st.just("notice"), st.just(""), st.sampled_from([0, 0, 2, 30])),
        ),
        max_size=20,
    )
)
def test_with_the_timer_firing_between_writes_nothing_is_lost_or_reordered(items: list[tuple[str, str, int]]):
    """Real time: the interval's timer (20 ms) fires while tokens and notices keep coming (0-30 ms apart)."""

    async def run() -> list[Any]:
        written: list[Any] = []
        loop = asyncio.get_running_loop()
        batcher = TokenBatcher(written.append, interval_s=0.02, clock=loop.time)
        for kind, text, gap_ms in items:
            await asyncio.sleep(gap_ms / 1000)
            batcher(Token(text=text) if kind == "token" else Notice(text="busy"))
        batcher.flush()
        await asyncio.sleep(0.05)  # a timer left behind would write again here
        return written

    written = asyncio.run(run())

    def between_notices(stream: list[str | None]) -> list[str]:
        """The text between notices (None), joined: what order and loss would change, batching not."""
        out = [""]
        for piece in stream:
            if piece is None:
                out.append("")
            else:
                out[-1] += piece
        return out

    sent = [text if kind == "token" else None for kind, text, _ in items]
    shown = [w.text if isinstance(w, Token) else None for w in written]
    assert between_notices(shown) == between_notices(sent)


async def test_held_text_a_failed_write_could_not_deliver_goes_out_with_the_next_flush():
    written: list[Any] = []
    fail_next = [False]

    def writer(item: Any) -> None:
        if fail_next[0]:
            fail_next[0] = False
            raise RuntimeError("stream closed for a moment")
        written.append(item)

    batcher = TokenBatcher(writer, interval_s=0.05, clock=Clock())
    batcher(Token(text="a"))  # out at once
    batcher(Token(text="b"))  # held
    fail_next[0] = True
    with pytest.raises(RuntimeError):
        batcher.flush()
    batcher.flush()
    assert texts(written) == ["a", "b"]
