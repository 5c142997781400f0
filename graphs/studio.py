"""What `langgraph.json` exports: graph factories for LangGraph Studio and `langgraph dev`.

The server imports this module and calls a factory for each run; the first call builds the
long-lived services from the environment (the same settings as `observer chat`), later calls reuse
the compiled graphs. Doors that own their services (the bot, the console, tests) call
`graphs.reply.build(services)` directly instead.
"""

from __future__ import annotations

import asyncio

from agent.services import Services, build_services
from agent.settings import cached_settings
from graphs import profile as profile_graph
from graphs import reply as reply_graph

_lock = asyncio.Lock()


class _Built:
    services: Services | None = None
    reply: reply_graph.ReplyGraph | None = None
    profile: profile_graph.ProfileGraph | None = None


async def _services() -> Services:
    if _Built.services is None:
        _Built.services = await build_services(await asyncio.to_thread(cached_settings))
    return _Built.services


async def reply() -> reply_graph.ReplyGraph:
    async with _lock:
        if _Built.reply is None:
            _Built.reply = reply_graph.build(await _services())
        return _Built.reply


async def profile() -> profile_graph.ProfileGraph:
    async with _lock:
        if _Built.profile is None:
            _Built.profile = profile_graph.build(await _services())
        return _Built.profile
