"""The automatic layout's plan: every process computes its own step from the same view, and together
they end with every shard held by exactly one live process, evenly, whatever order they beat in."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from agent.shard_plan import Step, next_step, targets


def test_targets_deal_the_shards_out_evenly_the_oldest_taking_the_remainder():
    assert targets(4, ["a", "b", "c"]) == {"a": 2, "b": 1, "c": 1}
    assert targets(2, ["a", "b", "c"]) == {"a": 1, "b": 1, "c": 0}  # one waits as a standby
    assert targets(4, []) == {}


def test_a_lone_process_takes_every_free_shard_at_once():
    assert next_step(4, "a", ["a"], {}) == Step(take=(0, 1, 2, 3))


def test_a_process_above_its_share_hands_one_back_only_when_nothing_is_free():
    held = {"a": frozenset({0, 1, 2, 3})}
    assert next_step(4, "a", ["a", "b"], held) == Step(release=3)
    assert next_step(4, "b", ["a", "b"], held) == Step()  # nothing free yet: b waits for the hand-over
    assert next_step(4, "a", ["a", "b"], {"a": frozenset({0, 1, 2})}) == Step()  # 3 is free: b takes it first


def test_a_dead_holders_shards_stay_put_until_the_lease_expires_then_are_taken():
    held = {"a": frozenset({0, 1}), "dead": frozenset({2, 3})}
    assert next_step(4, "a", ["a"], held) == Step()
    assert next_step(4, "a", ["a"], {"a": frozenset({0, 1})}) == Step(take=(2, 3))


def _converge(shard_count: int, live: list[str], order: list[int], start: dict[str, frozenset[int]]) -> dict:
    held = {who: set(shards) for who, shards in start.items()}
    for beat in range(200):
        who = live[order[beat % len(order)] % len(live)]
        view = {w: frozenset(s) for w, s in held.items() if s}
        step = next_step(shard_count, who, live, view)
        taken = set().union(*held.values()) if held else set()
        for shard in step.take:
            if shard not in taken:  # the lease is atomic: a shard someone took meanwhile is refused
                held.setdefault(who, set()).add(shard)
        if step.release is not None:
            held[who].discard(step.release)
    return held


@settings(max_examples=200, deadline=None)
@given(
    shard_count=st.integers(1, 12),
    processes=st.integers(1, 5),
    order=st.lists(st.integers(0, 4), min_size=5, max_size=20),
    first=st.integers(0, 4),
)
def test_whatever_order_they_beat_in_every_shard_ends_held_once_and_evenly(shard_count, processes, order, first):
    live = [f"p{n}" for n in range(processes)]
    # One process started earlier and took everything (the usual rolling start).
    start = {live[first % processes]: frozenset(range(shard_count))}
    held = _converge(shard_count, live, order + list(range(processes)), start)
    owners = [who for shard in range(shard_count) for who in live if shard in held.get(who, set())]
    assert len(owners) == shard_count, "every shard held by exactly one process"
    share = targets(shard_count, live)
    assert {who: len(held.get(who, set())) for who in live} == share
