"""The per-channel budget decides who gets Discord's next message call: what a member waits for goes
first, progress edits take turns, and no channel goes over its calls per window."""

from __future__ import annotations

import asyncio
import time

from discord_adapter.stream import ChannelBudget

CHANNEL = 7


async def test_a_new_reply_is_posted_before_another_replys_pending_progress_edit() -> None:
    budget = ChannelBudget(interval=2.0)
    await budget.wait_turn(CHANNEL)  # reply A is posted...
    budget.mark_interim(CHANNEL)  # ...so its next progress edit waits for the interval
    order: list[str] = []

    async def turn(name: str, interim: bool) -> None:
        await budget.wait_turn(CHANNEL, interim=interim)
        order.append(name)

    progress = asyncio.create_task(turn("A's progress edit", True))
    await asyncio.sleep(0)
    await turn("B's first post", False)
    assert order == ["B's first post"], "B's post went out while A's edit was still waiting"
    await progress
    assert order == ["B's first post", "A's progress edit"]


async def test_progress_edits_of_several_streams_take_turns() -> None:
    budget = ChannelBudget(interval=0.001, calls=1000)
    order: list[str] = []

    async def stream(name: str) -> None:
        for _ in range(4):
            await budget.wait_turn(CHANNEL, interim=True)
            order.append(name)
            await asyncio.sleep(0)

    await asyncio.gather(*(stream(n) for n in "ABC"))
    for start in range(0, 12, 3):
        assert sorted(order[start : start + 3]) == ["A", "B", "C"], order


async def test_no_more_calls_than_the_budget_allows_in_a_window() -> None:
    budget = ChannelBudget(interval=0.0, calls=2, per=0.3)
    asked: list[float] = []
    granted: list[float] = []
    for _ in range(5):
        asked.append(time.monotonic())
        await budget.wait_turn(CHANNEL)
        granted.append(time.monotonic())
    for i in range(2, 5):
        assert granted[i] - asked[i - 2] >= 0.3, "a third call inside one window"


async def test_another_channel_is_not_held_up_by_a_spent_one() -> None:
    budget = ChannelBudget(interval=0.0, calls=1, per=60.0)
    await budget.wait_turn(CHANNEL)
    spent = asyncio.create_task(budget.wait_turn(CHANNEL))
    await budget.wait_turn(CHANNEL + 1)
    assert not spent.done()
    spent.cancel()


async def test_a_waiter_that_gives_up_passes_its_turn_on() -> None:
    budget = ChannelBudget(interval=0.0, calls=1, per=0.2)
    await budget.wait_turn(CHANNEL)
    gives_up = asyncio.create_task(budget.wait_turn(CHANNEL))
    await asyncio.sleep(0)
    waits = asyncio.create_task(budget.wait_turn(CHANNEL))
    await asyncio.sleep(0)
    gives_up.cancel()
    await waits  # the line did not stall on the cancelled turn
    assert gives_up.cancelled()


async def test_a_slow_call_counts_until_it_returns_so_calls_never_bunch_at_discord() -> None:
    # Discord counts a call when it arrives, anywhere between its start and its return: a call that
    # travelled slowly and one that travelled fast must not land in the same window.
    budget = ChannelBudget(interval=0.0, calls=1, per=0.3)
    async with budget.turn(CHANNEL):
        await asyncio.sleep(0.4)  # longer than the window itself
        returned = time.monotonic()
    await budget.wait_turn(CHANNEL)
    assert time.monotonic() - returned >= 0.29, "the next call went out inside the slow call's window"


async def test_a_waiter_given_up_before_it_runs_again_does_not_stop_the_line() -> None:
    """A cancelled waiter's turn is cancelled at once, but it leaves its line only when its task next
    runs; a slot opening in between (the timer) must pass it by and serve the next, not fail on it
    (InvalidStateError, seen in bench.discord_door: the line then waited for some later call)."""
    budget = ChannelBudget(interval=0.0, calls=1, per=3600.0)
    await budget.wait_turn(CHANNEL)  # the window's only call: the others queue
    gave_up = asyncio.create_task(budget.wait_turn(CHANNEL))
    waiting = asyncio.create_task(budget.wait_turn(CHANNEL))
    await asyncio.sleep(0)
    gave_up.cancel()
    turns = budget._channels[CHANNEL]
    turns.recent.clear()  # the window has passed: what the timer finds when it fires now
    turns._serve()
    await waiting  # served: the cancelled turn was passed by
    [outcome] = await asyncio.gather(gave_up, return_exceptions=True)
    assert isinstance(outcome, asyncio.CancelledError)
