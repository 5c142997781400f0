"""Tools in the config file: `[[mcp_servers]]` (where each MCP server runs and the rules for its tools)
and `[web]` (fetch_url and web_search)."""

from __future__ import annotations

from typing import Any, Literal

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


def host_port(entry: str) -> tuple[str, int | None]:
    """`wiki.lan`, `wiki.lan:8080`, `10.0.0.5`, `[fd00::5]:8080` or `fd00::5` as (host, port or None)."""
    text = entry.strip().lower().rstrip(".")
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":") if rest.startswith(":") else ""
        if rest and not rest.startswith(":"):
            raise ValueError(f"{entry!r} is not a host or host:port")
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:  # a name, an IPv4 address, or a bare IPv6 address
        host, port = text, ""
    if not host or any(c in host for c in "/@?#") or (port and not port.isdigit()):
        raise ValueError(f"{entry!r} is not a host or host:port")
    if port and not 0 < int(port) < 65536:
        raise ValueError(f"{entry!r}: port out of range")
    return host, int(port) if port else None


class WebFetchSpec(BaseModel):
    """`[web.fetch]`: the fetch_url tool, reading a page a member linked."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False  # off until the operator turns it on (README: "The web")
    # Private, loopback or otherwise non-public hosts it may read all the same: `wiki.lan`, `10.0.0.5`,
    # `127.0.0.1:8080` (that port only), `[fd00::5]:443`. Everything else non-public is refused.
    allowed_private_hosts: list[str] = Field(default_factory=list)
    max_bytes: int = Field(default=2_000_000, ge=1_000, le=10_000_000)  # read at most this much of a page
    timeout_s: float = Field(default=10.0, gt=0, le=25)  # the whole fetch (redirects included), then extraction
    extract_memory_mb: int = Field(default=512, ge=128, le=16_384)  # the extracting child process's memory cap
    max_redirects: int = Field(default=5, ge=0, le=10)
    result_tokens: int | None = Field(default=None, ge=50)  # what the model reads; unset: tool_result_tokens
    guilds: list[int] | None = None  # only these servers; unset: every server and DMs

    @model_validator(mode="after")
    def _hosts(self) -> WebFetchSpec:
        for entry in self.allowed_private_hosts:
            host_port(entry)
        return self

    def allowed(self) -> frozenset[tuple[str, int | None]]:
        return frozenset(host_port(e) for e in self.allowed_private_hosts)


class WebSearchSpec(BaseModel):
    """`[web.search]`: the web_search tool, on when a provider is named."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: Literal["searxng", "brave", "tavily"] | None = None
    enabled: bool = True  # with a provider; false turns it off and keeps the rest
    # SearxNG: the instance (`http://searx.lan:8080`, with `json` in its search formats); Brave and
    # Tavily: their public API unless set (a test or a proxy).
    url: str | None = None
    api_key_env: str | None = None  # Brave and Tavily: the environment variable holding the key
    results: int = Field(default=5, ge=1, le=20)
    timeout_s: float = Field(default=10.0, gt=0, le=25)
    guilds: list[int] | None = None

    @model_validator(mode="after")
    def _provider(self) -> WebSearchSpec:
        if self.provider == "searxng" and not self.url:
            raise ValueError("provider 'searxng' needs `url`, the instance's address")
        if self.provider in ("brave", "tavily") and not self.api_key_env:
            raise ValueError(f"provider {self.provider!r} needs `api_key_env`, the variable holding its API key")
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ValueError("`url` must start with http:// or https://")
        return self

    @property
    def on(self) -> bool:
        return self.enabled and self.provider is not None


class WebToolsSpec(BaseModel):
    """`[web]`: fetch_url and web_search."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fetch: WebFetchSpec = Field(default_factory=WebFetchSpec)
    search: WebSearchSpec = Field(default_factory=WebSearchSpec)
