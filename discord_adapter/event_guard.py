"""One malformed or unexpected gateway event is logged and dropped, never fatal.

discord.py parses every dispatch inside its shard's receive loop: a parser that raises (MESSAGE_CREATE
without `author`, `id: "abc"`, a partial MESSAGE_UPDATE, a GUILD_CREATE without channels …) ends the
shard's worker, and `AutoShardedClient.connect` then closes the client and re-raises: the process exits.
Two seams, both installed once on the client's connection state:

- every entry of `ConnectionState.parsers` (the table the gateway looks events up in) is wrapped, so a
  parser that raises drops that one event;
- every gateway socket's `received_message` (hooked through `_update_references`, which discord.py
  calls for each new socket before its first read) drops a payload that is not JSON or not a gateway
  payload at all, while the gateway's own control flow (reconnect, resume, close) passes through.

Our own handlers (on_message, on_raw_message_edit, interactions…) run as separate tasks: discord.py
sends their exceptions to `on_error`, which `handler_failed` replaces with the same content-free log.

What is logged: the event type, the exception's type and the stack frames (code locations only). The
exception's text is left out unless OBSERVER_LOG_CONTENT is on: it may quote the payload (`'abc'`).
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable
from typing import Any

from discord.errors import ConnectionClosed
from discord.gateway import ReconnectWebSocket, WebSocketClosure

from discord_adapter.snowflakes import SnowflakeOutOfRange, check_payload

log = logging.getLogger(__name__)

# The gateway's control flow, raised on purpose inside `received_message`: never swallowed.
CONTROL_FLOW = (ReconnectWebSocket, ConnectionClosed, WebSocketClosure)

# Set from OBSERVER_LOG_CONTENT when the bot is built: whether exception texts may be logged.
show_exception_text = False


def describe(exc: BaseException) -> str:
    """The exception's type and where it was raised; its text only when content may be logged."""
    frames = "".join(traceback.format_tb(exc.__traceback__)).rstrip()
    head = f"{type(exc).__name__}: {exc}" if show_exception_text else type(exc).__name__
    return f"{head}\n{frames}" if frames else head


def dropped(event: str, exc: BaseException) -> None:
    log.warning("gateway event %s dropped: malformed or unexpected (%s)", event, describe(exc))


def _salvage_edit(state: Any, data: Any) -> None:
    """discord.py builds a whole Message from every MESSAGE_UPDATE, so a partial one (a member's edit
    of a message it never cached, with no author) fails there; the new text is still kept in the record."""
    if not isinstance(data, dict) or not isinstance(data.get("content"), str):
        return
    try:
        message_id = int(data["id"])
    except (KeyError, TypeError, ValueError):
        return
    state.dispatch("partial_message_edit", message_id, data["content"])


def _guarded_parser(state: Any, event: str, parse: Callable[[Any], None]) -> Callable[[Any], None]:
    def parse_or_drop(data: Any) -> None:
        try:
            check_payload(data)  # an id the record cannot hold (≥ 2^63, negative) drops the event here
        except SnowflakeOutOfRange as exc:
            dropped(event, exc)
            return
        try:
            parse(data)
        except Exception as exc:
            dropped(event, exc)
            if event == "MESSAGE_UPDATE":
                _salvage_edit(state, data)

    parse_or_drop.__wrapped__ = parse  # type: ignore[attr-defined]
    return parse_or_drop


def _guard_socket(ws: Any) -> None:
    """A payload that is not JSON, or not a gateway payload, is dropped; the connection goes on."""
    if getattr(ws, "_observer_guarded", False):
        return
    received = ws.received_message

    async def received_or_dropped(msg: Any, /) -> None:
        try:
            await received(msg)
        except CONTROL_FLOW:
            raise
        except Exception as exc:
            dropped(f"payload on shard {ws.shard_id}", exc)

    ws.received_message = received_or_dropped
    ws._observer_guarded = True


def guard_state(state: Any) -> Any:
    """Install both seams on a discord.py ConnectionState (from the client's `_get_state`)."""
    for event, parse in list(state.parsers.items()):
        state.parsers[event] = _guarded_parser(state, event, parse)
    update_references = state._update_references

    def update_and_guard(ws: Any) -> None:
        _guard_socket(ws)
        update_references(ws)

    state._update_references = update_and_guard
    return state


async def handler_failed(client: Any, event_method: str, /, *args: Any, **kwargs: Any) -> None:
    """The client's `on_error`: one of our handlers failed on one event; the next event is unaffected."""
    exc = sys.exc_info()[1]
    if exc is None:
        log.warning("handler %s failed", event_method)
        return
    log.warning("handler %s failed on one event, which is dropped (%s)", event_method, describe(exc))
