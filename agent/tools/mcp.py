"""MCP servers the operator lists: sessions kept open (through langchain-mcp-adapters), restarted when
a server dies, and their tools offered with the operator's rules. A server that cannot start is one
line in the log and in /health; the bot runs without it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from agent.redact import redact
from agent.tools.base import Tool, ToolRun
from agent.tools.config import McpServerSpec

if TYPE_CHECKING:  # the MCP libraries load only when a server is configured (0.5 s of every start)
    from mcp import ClientSession
    from mcp.types import CallToolResult

log = logging.getLogger(__name__)

LIST_TIMEOUT_S = 60.0
MAX_BACKOFF_S = 60.0


class ToolFailed(Exception):
    """A tool call that did not give a result; the message is what the model and the member read."""


def _first_error(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def describe(exc: BaseException) -> str:
    exc = _first_error(exc)
    text = redact(str(exc).strip().splitlines()[0]) if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def result_text(result: CallToolResult) -> str:
    from mcp.types import TextContent

    parts = [c.text if isinstance(c, TextContent) else f"[{c.type} content]" for c in result.content]
    if not parts and result.structuredContent is not None:
        parts.append(str(result.structuredContent))
    return "\n".join(parts)


class McpServer:
    """One server: a task holds its session open and reconnects, with backoff, when it drops."""

    def __init__(self, spec: McpServerSpec) -> None:
        self.spec = spec
        self.tools: list[Tool] = []
        self.state = "starting"  # starting | connected | down | stopped
        self.error = ""
        self._session: ClientSession | None = None
        self._first_try = asyncio.Event()
        self._up = asyncio.Event()
        self._reconnect = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"mcp:{self.spec.name}")

    async def ready(self) -> None:
        """Wait for the first connection attempt to end (connected or not)."""
        await self._first_try.wait()

    async def connected(self) -> None:
        """Wait until the session is open (again)."""
        await self._up.wait()

    async def stop(self) -> None:
        self._stopping = True
        self._reconnect.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        self.state = "stopped"

    async def _run(self) -> None:
        backoff = 1.0
        while not self._stopping:
            try:
                from langchain_mcp_adapters.sessions import create_session

                async with create_session(self.spec.connection()) as session:  # type: ignore[arg-type]
                    await asyncio.wait_for(session.initialize(), LIST_TIMEOUT_S)
                    listed = await asyncio.wait_for(session.list_tools(), LIST_TIMEOUT_S)
                    self.tools = [self._tool(t.name, t.description or "", t.inputSchema) for t in listed.tools]
                    self._session, self.state, self.error = session, "connected", ""
                    self._first_try.set()
                    self._up.set()
                    backoff = 1.0
                    log.info("MCP server %s connected: %d tools", self.spec.name, len(self.tools))
                    self._reconnect.clear()
                    await self._reconnect.wait()
            except asyncio.CancelledError:
                raise
            except BaseException as exc:  # anyio raises groups; a broken server must never stop the bot
                error = describe(exc)
                # One line when it goes down (or the reason changes), not one per retry.
                level = logging.WARNING if self.state != "down" or error != self.error else logging.DEBUG
                log.log(level, "MCP server %s is down (%s); retrying with backoff", self.spec.name, error)
                self.error = error
            if self._session is not None and self.state == "connected":
                log.warning("MCP server %s disconnected; reconnecting", self.spec.name)
            self._session, self.tools = None, []
            self._up.clear()
            if self.state != "stopped":
                self.state = "down"
            self._first_try.set()
            if self._stopping:
                break
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)

    def _tool(self, name: str, description: str, schema: dict[str, Any]) -> Tool:
        spec = self.spec

        async def invoke(arguments: dict[str, Any], _run: ToolRun) -> str:
            session = self._session
            if session is None:
                raise ToolFailed(f"the {spec.name} server is not connected ({self.error or 'starting'})")
            try:
                result = await session.call_tool(
                    name, arguments, read_timeout_seconds=timedelta(seconds=spec.timeout_s)
                )
            except Exception as exc:
                if _is_transport_failure(exc):
                    self._up.clear()
                    self._reconnect.set()  # the session is gone: reconnect for the next call
                raise ToolFailed(f"{name} failed: {describe(exc)}") from None
            text = result_text(result)
            if result.isError:
                raise ToolFailed(f"{name} reported an error: {text or 'no details'}")
            return text

        return Tool(
            name=name,
            description=description or f"{name} (from the {spec.name} MCP server)",
            parameters=schema or {"type": "object", "properties": {}},
            invoke=invoke,
            source=f"mcp:{spec.name}",
            confirm=name in spec.confirm,
            admins_approve=name in spec.admins_approve,
            admin_only=name in spec.admin_only,
            guilds=frozenset(spec.guilds) if spec.guilds is not None else None,
            extra={"timeout_s": spec.timeout_s},
        )


def _is_transport_failure(exc: BaseException) -> bool:
    # An MCP error response means the server is alive and answered; anything else is the connection.
    from mcp.shared.exceptions import McpError
    from mcp.types import CONNECTION_CLOSED

    first = _first_error(exc)
    return not isinstance(first, McpError) or first.error.code == CONNECTION_CLOSED


TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class McpHub:
    """Every configured server. Tools are listed from whichever servers are connected right now."""

    def __init__(self, specs: list[McpServerSpec]) -> None:
        self.servers = [McpServer(spec) for spec in specs]

    async def start(self, wait_s: float = 30.0) -> None:
        """Start every server, waiting (boundedly) for first connections so the first reply has tools."""
        for server in self.servers:
            server.start()
        if self.servers:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*(s.ready() for s in self.servers)), wait_s)

    async def close(self) -> None:
        await asyncio.gather(*(s.stop() for s in self.servers))

    def tools(self, taken: set[str]) -> list[Tool]:
        """Connected servers' tools; a name already taken (built-in or an earlier server) gets its server's prefix."""
        found: list[Tool] = []
        names = set(taken)
        for server in self.servers:
            for tool in server.tools:
                name = tool.name if tool.name not in names else f"{server.spec.name}_{tool.name}"
                name = re.sub(r"[^A-Za-z0-9_-]", "_", name)[:64]
                if name in names or not TOOL_NAME.match(name):
                    log.warning("MCP server %s: tool %r skipped (name taken)", server.spec.name, tool.name)
                    continue
                names.add(name)
                found.append(tool if name == tool.name else _renamed(tool, name))
        return found

    def status(self) -> list[dict[str, Any]]:
        return [
            {
                "name": s.spec.name,
                "state": s.state,
                "error": s.error,
                "tools": [t.name for t in s.tools],
                "transport": "http" if s.spec.url else "stdio",
            }
            for s in self.servers
        ]


def _renamed(tool: Tool, name: str) -> Tool:
    from dataclasses import replace

    return replace(tool, name=name)
