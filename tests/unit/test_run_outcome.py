"""What a door reads of a run: typed events, `Decided` when the decision is made, one `RunOutcome` last."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from agent.errors import RunError
from agent.events import Decision
from agent.member_texts import FAILURE_TEXTS, could_not_answer, cut_short
from agent.stream import ApprovalNeeded, Decided, RunOutcome, Token, outcome_of, run_events
from agent.verdicts import ApprovalRequest
from tests.conftest import make_event

REQUEST = ApprovalRequest(
    call_id="call_1",
    tool="set_alarm",
    source="builtin",
    arguments={"time": "06:00"},
    asker_id=7,
    asker="alice",
    admins_may_approve=False,
    timeout_s=60.0,
)


async def test_a_door_gets_the_decision_once_and_the_outcome_last():
    event = make_event("hey @Observer", mentions_bot=True)
    decision = Decision(respond=True, model="chat", speaker="Mika", source="judge")

    async def stream() -> Any:
        yield ("values", {"event": event})
        yield ("values", {"event": event, "decision": decision, "spoken_language": "ja"})
        yield ("custom", Token(text="hi"))
        yield ("values", {"event": event, "decision": decision, "spoken_language": "ja", "reply": "hi"})
        yield (
            "values",
            {
                "event": event,
                "decision": decision,
                "spoken_language": "ja",
                "reply": "hi",
                "model": "chat",
                "capped": "time",
                "capped_seconds": 30.0,
                "reply_message_id": 99,
            },
        )

    seen = [item async for item in run_events(stream())]
    assert [type(i).__name__ for i in seen] == ["Decided", "Token", "RunOutcome"]
    assert seen[0] == Decided(decision, "ja")
    outcome = seen[-1]
    assert isinstance(outcome, RunOutcome)
    assert (outcome.reply, outcome.model, outcome.speaker, outcome.respond) == ("hi", "chat", "Mika", True)
    assert (outcome.capped, outcome.capped_seconds, outcome.reply_message_id) == ("time", 30.0, 99)
    assert outcome.event == event and outcome.error is None and outcome.paused is None


async def test_a_paused_run_carries_its_approval_request_typed():
    async def stream() -> Any:
        yield ("values", {"__interrupt__": [SimpleNamespace(value=REQUEST.as_dict())]})

    seen = [item async for item in run_events(stream())]
    assert seen[0] == ApprovalNeeded(request=REQUEST)
    assert isinstance(seen[-1], RunOutcome) and seen[-1].paused == REQUEST
    assert ApprovalRequest.of({"kind": "something else"}) is None
    assert ApprovalNeeded(request=REQUEST).model_dump()["request"]["tool"] == "set_alarm", "what a server sends"


def test_a_failure_is_a_code_and_a_message():
    failed = outcome_of({"reply": "", "error": "HTTP 401 (key sk-…)", "failure": "misconfigured"})
    assert failed.error == RunError("misconfigured", "HTTP 401 (key sk-…)")
    assert could_not_answer(failed.error.code) == FAILURE_TEXTS["misconfigured"]
    # A refusal without a kind (an unreadable recording) reads as a plain failure, as before.
    refused = outcome_of({"reply": "I couldn't listen to a.ogg: too long.", "error": "too long"})
    assert refused.error is not None and refused.error.code == "failed"
    assert cut_short(refused.error.code) == cut_short(None)
    assert outcome_of({"reply": "hi"}).error is None
