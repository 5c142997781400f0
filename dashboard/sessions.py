"""Signed session cookies: the session's JSON, base64url, and an HMAC-SHA256 of it under the server's
key. Nothing secret lives in a session; what it grants is checked against the signature and expiry."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import asdict, dataclass, field
from typing import Any

COOKIE = "observer_session"


@dataclass(frozen=True)
class Session:
    """Who is signed in. `kind`: "anonymous" (only a CSRF token and an OAuth state), "operator" (every
    server) or "member" (`guild_ids` only). `expires` in epoch seconds."""

    kind: str = "anonymous"
    name: str = ""
    user_id: str = ""
    guild_ids: tuple[int, ...] = ()
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    oauth_state: str = ""
    expires: float = 0.0

    @property
    def signed_in(self) -> bool:
        return self.kind in ("operator", "member")

    def may_read(self, guild_id: int | None) -> bool:
        """Whether this session may see a server's messages and settings (None: direct messages)."""
        if self.kind == "operator":
            return True
        return self.kind == "member" and guild_id is not None and guild_id in self.guild_ids

    @property
    def who(self) -> str:
        """Who acted, for the log: a member by name and id, or the operator."""
        return f"{self.name} ({self.user_id})" if self.user_id else f"the operator ({self.name or 'link'})"

    def visible_guilds(self) -> tuple[int, ...] | None:
        """None: every server (an operator); else the servers this member manages."""
        return None if self.kind == "operator" else self.guild_ids


class SessionCodec:
    """Encode and check session cookies under `key`."""

    def __init__(self, key: bytes) -> None:
        self.key = key

    def _sign(self, body: bytes) -> str:
        return base64.urlsafe_b64encode(hmac.new(self.key, body, hashlib.sha256).digest()).decode().rstrip("=")

    def encode(self, session: Session) -> str:
        data = asdict(session)
        data["guild_ids"] = [str(g) for g in session.guild_ids]
        body = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).rstrip(b"=")
        return f"{body.decode()}.{self._sign(body)}"

    def decode(self, cookie: str | None, now: float | None = None) -> Session | None:
        """The session, or None when the cookie is missing, forged, malformed or expired."""
        if not cookie or "." not in cookie or len(cookie) > 8192:
            return None
        body, _, signature = cookie.rpartition(".")
        if not hmac.compare_digest(self._sign(body.encode()), signature):
            return None
        try:
            data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            session = Session(
                kind=str(data["kind"]),
                name=str(data["name"]),
                user_id=str(data["user_id"]),
                guild_ids=tuple(int(g) for g in data["guild_ids"]),
                csrf=str(data["csrf"]),
                oauth_state=str(data["oauth_state"]),
                expires=float(data["expires"]),
            )
        except (ValueError, KeyError, TypeError):
            return None
        if session.expires < (time.time() if now is None else now):
            return None
        return session
