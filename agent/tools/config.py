"""`[[mcp_servers]]` in the config file: where each MCP server runs and the rules for its tools."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class McpServerSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_\-]+$")
    # stdio: the command that starts the server (the bot keeps it running) …
    command: str | None = None
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] | None = None
    cwd: str | None = None
    # … or streamable HTTP: the server's endpoint.
    url: str | None = None
    headers: dict[str, str] | None = None
    confirm: list[str] = Field(default_factory=list)  # tools that need a member's approval per call
    # Of those, the ones members with Manage Server may approve too (otherwise only the asking member).
    admins_approve: list[str] = Field(default_factory=list)
    admin_only: list[str] = Field(default_factory=list)  # tools only for members with Manage Server
    guilds: list[int] | None = None  # only these servers may use it; unset: every server and DMs
    timeout_s: float = Field(default=30.0, gt=0)  # one call's longest wait

    @model_validator(mode="after")
    def _one_transport(self) -> McpServerSpec:
        if (self.command is None) == (self.url is None):
            raise ValueError(f"MCP server {self.name!r} needs exactly one of `command` (stdio) or `url` (HTTP)")
        return self

    def connection(self) -> dict[str, Any]:
        """The langchain-mcp-adapters connection for this server."""
        if self.url is not None:
            conn: dict[str, Any] = {"transport": "streamable_http", "url": self.url}
            if self.headers:
                conn["headers"] = self.headers
            return conn
        conn = {"transport": "stdio", "command": self.command, "args": list(self.args)}
        if self.env is not None:
            conn["env"] = self.env
        if self.cwd is not None:
            conn["cwd"] = self.cwd
        return conn
