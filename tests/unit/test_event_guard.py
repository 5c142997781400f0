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
