"""What a question searches memory with, and how many cores its embedding may take."""

from __future__ import annotations

import threading

import pytest

from agent.events import event_from_names
from agent.memory.openmp import _openmp, cores_beside_the_loop, leave_a_core_to_the_loop
from agent.memory.recall import query_of


def asked(text: str, bot_name: str = "Observer") -> str:
    return query_of(event_from_names("console", text=text, author="ana", channel="general", bot_name=bot_name))


def test_the_bots_own_mention_is_left_out_of_the_memory_search() -> None:
    assert asked("@Observer how much is the jasmine tea?") == "how much is the jasmine tea?"
    assert asked("hey @observer, quanto custa o chá?") == "hey quanto custa o chá?"
    assert asked("@オブザーバー 今日のおすすめは？", bot_name="オブザーバー") == "今日のおすすめは？"


def test_other_mentions_and_longer_names_stay_in_the_search() -> None:
    assert asked("@Observer what did @mika say?") == "what did @mika say?"
    assert asked("@Observers club meets today") == "@Observers club meets today"


def test_a_bare_mention_still_searches_with_something() -> None:
    assert asked("@Observer") == "@Observer"


@pytest.mark.skipif(_openmp() is None, reason="the bundled engine's OpenMP runtime is not found here")
def test_a_questions_embedding_leaves_a_core_to_the_event_loop_and_only_in_its_own_thread() -> None:
    lib = _openmp()
    assert lib is not None
    everything = lib.omp_get_max_threads()
    seen_elsewhere: list[int] = []
    with leave_a_core_to_the_loop():
        assert lib.omp_get_max_threads() == min(everything, cores_beside_the_loop())
        other = threading.Thread(target=lambda: seen_elsewhere.append(lib.omp_get_max_threads()))
        other.start()
        other.join()
    assert lib.omp_get_max_threads() == everything, "the thread's own setting is restored"
    assert seen_elsewhere == [everything], "bulk ingest in another thread keeps every core"
