"""The gateway guard on a real discord.py connection state: a parser that raises drops its one event,
the log names the event and the exception's type but never the payload, and a partial edit is kept."""

from __future__ import annotations

import logging
from typing import Any

import discord
import pytest
from discord.gateway import ReconnectWebSocket

from discord_adapter import event_guard


@pytest.fixture
def state() -> Any:
    client = discord.AutoShardedClient(intents=discord.Intents.default())
    dispatched: list[tuple[Any, ...]] = []
    state = event_guard.guard_state(client._get_state())
    state.dispatch = lambda *args: dispatched.append(args)
    state.dispatched = dispatched
    return state


def test_a_parser_that_raises_drops_only_its_event_and_logs_no_content(state: Any, caplog: Any) -> None:
    caplog.set_level(logging.WARNING)
    state.parsers["MESSAGE_CREATE"]({"id": "abc", "content": "secret words", "channel_id": "1"})
    state.parsers["TYPING_START"]({"channel_id": "abc"})
    logged = caplog.text
    assert "gateway event MESSAGE_CREATE dropped" in logged
    assert "gateway event TYPING_START dropped" in logged
    assert "secret words" not in logged and "'abc'" not in logged


def test_a_partial_edit_is_still_recorded(state: Any) -> None:
    state.parsers["MESSAGE_UPDATE"]({"id": "123", "channel_id": "1", "content": "new text"})
    assert ("partial_message_edit", 123, "new text") in state.dispatched
    state.parsers["MESSAGE_UPDATE"]({"id": "abc", "channel_id": "1", "content": "x"})
    assert len([d for d in state.dispatched if d[0] == "partial_message_edit"]) == 1


async def test_an_unreadable_payload_is_dropped_but_the_gateways_control_flow_passes(state: Any) -> None:
    class Socket:
        shard_id = 0

        async def received_message(self, msg: Any) -> None:
            if msg == "reconnect":
                raise ReconnectWebSocket(0)
            raise ValueError(msg)

    ws = Socket()
    state._update_references(ws)
    await ws.received_message("{not json")  # dropped, no exception
    with pytest.raises(ReconnectWebSocket):
        await ws.received_message("reconnect")


async def test_a_failing_handler_is_logged_without_its_exception_text(caplog: Any) -> None:
    caplog.set_level(logging.WARNING)
    words = "a member's words"
    try:
        raise RuntimeError(words)
    except RuntimeError:
        await event_guard.handler_failed(None, "on_message")
    assert "handler on_message failed" in caplog.text and "RuntimeError" in caplog.text
    assert words not in caplog.text


def message_payload(**ids: Any) -> dict[str, Any]:
    author = {"id": ids.get("author", "80351110224678912"), "username": "m", "discriminator": "0", "avatar": None}
    return {
        "id": ids.get("message", "1100000000000000001"),
        "channel_id": ids.get("channel", "1100000000000000002"),
        "author": author,
        "content": "secret words",
        "timestamp": "2026-11-29T22:00:00+00:00",
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": False,
        "type": 0,
    }


@pytest.mark.parametrize(
    "bad",
    [
        {"message": str(2**63)},
        {"message": "-5"},
        {"author": str(2**64 - 1)},
        {"channel": str(2**63 + 7)},
        {"channel": -1},
    ],
)
def test_a_snowflake_the_record_cannot_hold_drops_the_event_at_the_gateway(
    state: Any, caplog: Any, bad: dict[str, Any]
) -> None:
    caplog.set_level(logging.WARNING)
    received: list[Any] = []
    state.dispatch = lambda *args: received.append(args)
    state.parsers["MESSAGE_CREATE"](message_payload(**bad))
    assert not [r for r in received if r[0] == "message"], "the event never reaches the handlers"
    assert "gateway event MESSAGE_CREATE dropped" in caplog.text and "SnowflakeOutOfRange" in caplog.text
    for value in bad.values():
        assert str(value) not in caplog.text, "the id itself is not logged"
    assert "secret words" not in caplog.text


def test_an_out_of_range_id_in_an_edit_is_not_salvaged_either(state: Any) -> None:
    state.parsers["MESSAGE_UPDATE"]({"id": str(2**63), "channel_id": "1", "content": "new text"})
    state.parsers["MESSAGE_UPDATE"]({"id": "5", "channel_id": "-1", "content": "new text"})
    assert not [d for d in state.dispatched if d[0] == "partial_message_edit"]


def test_ids_at_the_edge_of_the_range_and_non_snowflake_fields_pass(state: Any, caplog: Any) -> None:
    caplog.set_level(logging.WARNING)
    payload = message_payload(message=str(2**63 - 1))
    payload["nonce"] = str(2**70)  # not a snowflake: any string a client chose
    payload["components"] = [{"type": 1, "components": [{"type": 2, "custom_id": str(2**70), "label": "x"}]}]
    state.parsers["MESSAGE_CREATE"](payload)
    assert "dropped" not in caplog.text
    assert next(d for d in state.dispatched if d[0] == "message")[1].id == 2**63 - 1, "the handlers get it"


@pytest.mark.parametrize(
    "where",
    ["mentions", "message_reference", "guild_id", "mention_roles", "member"],
)
def test_an_out_of_range_id_anywhere_in_the_payload_drops_it(state: Any, caplog: Any, where: str) -> None:
    caplog.set_level(logging.WARNING)
    payload = message_payload()
    huge = str(2**63 + 1)
    nested: dict[str, Any] = {
        "mentions": {"mentions": [{"id": huge, "username": "x", "discriminator": "0", "avatar": None}]},
        "message_reference": {"message_reference": {"message_id": huge, "channel_id": payload["channel_id"]}},
        "guild_id": {"guild_id": huge},
        "mention_roles": {"mention_roles": [huge]},
        "member": {"member": {"roles": [huge], "joined_at": "2026-01-01T00:00:00+00:00"}},
    }
    payload.update(nested[where])
    state.parsers["MESSAGE_CREATE"](payload)
    assert not [d for d in state.dispatched if d[0] == "message"]
    assert "SnowflakeOutOfRange" in caplog.text and huge not in caplog.text
