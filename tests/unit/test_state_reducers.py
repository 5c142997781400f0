"""The graph state's timings add up across nodes and tool rounds, and start afresh with each message."""

from __future__ import annotations

from agent.state import add_timings


def test_timings_of_every_round_add_up_and_a_new_message_starts_afresh():
    run = add_timings(None, {"ingest_ms": 2.0})
    run = add_timings(run, {"judge_ms": 30.0})
    run = add_timings(run, {"retrieve_ms": 5.0})  # same step as the judge: both kept
    for _ in range(2):  # two tool rounds, then the answer
        run = add_timings(run, {"generate_ms": 100.0, "tool_rounds_model_ms": 90.0})
        run = add_timings(run, {"act_ms": 10.0})
    run = add_timings(run, {"generate_ms": 50.0, "generate_model_ms": 45.0})
    assert run == {
        "ingest_ms": 2.0,
        "judge_ms": 30.0,
        "retrieve_ms": 5.0,
        "generate_ms": 250.0,
        "tool_rounds_model_ms": 180.0,
        "act_ms": 20.0,
        "generate_model_ms": 45.0,
    }
    assert add_timings(run, {"ingest_ms": 1.0}) == {"ingest_ms": 1.0}


def test_tool_turns_add_up_within_a_run_and_a_new_run_on_the_thread_starts_without_them():
    from langchain_core.messages import AIMessage, ToolMessage
    from langgraph.graph.message import add_messages

    from agent.state import fresh_run

    asked = AIMessage(content="", tool_calls=[{"name": "roll", "args": {}, "id": "c1", "type": "tool_call"}])
    turns = add_messages([], [asked])
    turns = add_messages(turns, [ToolMessage(content="4", tool_call_id="c1")])
    again = AIMessage(content="", tool_calls=[{"name": "roll", "args": {}, "id": "c2", "type": "tool_call"}])
    turns = add_messages(turns, [again])  # a second round: appended, not replacing the first
    assert [type(m).__name__ for m in turns] == ["AIMessage", "ToolMessage", "AIMessage"]
    cleared = fresh_run({"tool_turns": turns, "reply": "old answer"})  # type: ignore[typeddict-item]
    assert cleared["reply"] is None
    assert add_messages(turns, cleared["tool_turns"]) == []
    assert "tool_turns" not in fresh_run({"reply": "old answer"})  # type: ignore[typeddict-item]
