"""The per-channel budget for posts and edits (Discord: 5 per 5 s, counted together): progress edits give
way to what a member must see, another member's first post and every stream's final edit."""

from __future__ import annotations

import asyncio

from discord_adapter.stream import ChannelBudget

CHANNEL = 1


async def test_progress_edits_leave_the_slots_final_edits_need() -> None:
    budget = ChannelBudget(interval=0.0, calls=4, per=3600.0)
    # Two members' answers stream in one channel: two posts, and each still owes a final edit.
    for _ in range(2):
        assert await budget.wait_turn(CHANNEL)
        budget.open_stream(CHANNEL)
    # Two slots left, both owed: a progress edit is skipped instead of pushing a final edit to the next window.
    assert not await budget.wait_turn(CHANNEL, interim=True)
    assert await budget.wait_turn(CHANNEL)  # first answer's final edit: no wait
    budget.close_stream(CHANNEL)
    assert await budget.wait_turn(CHANNEL)  # second answer's final edit: no wait
    budget.close_stream(CHANNEL)


async def test_a_lone_stream_still_shows_progress() -> None:
    budget = ChannelBudget(interval=0.0, calls=4, per=3600.0)
    assert await budget.wait_turn(CHANNEL)
    budget.open_stream(CHANNEL)
    assert await budget.wait_turn(CHANNEL, interim=True)  # 2 used, 1 owed, 1 to spare
    assert await budget.wait_turn(CHANNEL, interim=True)  # 3 used
    assert not await budget.wait_turn(CHANNEL, interim=True)  # the last one is owed to the final edit
    assert await budget.wait_turn(CHANNEL)


async def test_waiting_to_space_progress_edits_never_holds_up_another_post() -> None:
    budget = ChannelBudget(interval=3600.0)
    assert await budget.wait_turn(CHANNEL)
    budget.mark_interim(CHANNEL)
    spaced = asyncio.create_task(budget.wait_turn(CHANNEL, interim=True))  # waits an hour for its turn
    await asyncio.sleep(0)
    await budget.wait_turn(CHANNEL)  # another member's first post goes out meanwhile
    assert not spaced.done()
    spaced.cancel()
