"""One-time dashboard login links: `observer dashboard link` issues one, any dashboard process sharing
the record accepts it once, before it expires. Only the token's SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
import time

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from agent.memory import tables
from agent.memory.db import dialect_insert

TOKEN_BYTES = 32


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class LoginLinks:
    """Issue and redeem one-time login tokens (URL-safe text, 43 characters)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def issue(self, lifetime_seconds: float, now: float | None = None) -> str:
        """A new token valid for `lifetime_seconds` (epoch clock of this host); expired ones are swept."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        at = time.time() if now is None else now
        async with self.engine.begin() as conn:
            await conn.execute(delete(tables.dashboard_logins).where(tables.dashboard_logins.c.expires_at < at - 86400))
            await conn.execute(
                insert(tables.dashboard_logins).values(
                    token_hash=_hash(token), created_at=at, expires_at=at + lifetime_seconds, used_at=None
                )
            )
        return token

    # A signed-out session is kept here until it would have expired (a used row: never redeemable as a
    # link), so a copied cookie stops working at sign-out, in every dashboard process sharing the record.
    async def end_session(self, session_id: str, expires: float, now: float | None = None) -> None:
        """Mark a session (`session_id`: its own random id) signed out until `expires` (epoch seconds)."""
        at = time.time() if now is None else now
        async with self.engine.begin() as conn:
            await conn.execute(
                dialect_insert(self.engine.dialect.name)(tables.dashboard_logins)
                .values(token_hash=_hash("session:" + session_id), created_at=at, expires_at=expires, used_at=at)
                .on_conflict_do_nothing(index_elements=["token_hash"])
            )

    async def session_ended(self, session_id: str) -> bool:
        """Whether a session was signed out."""
        async with self.engine.connect() as conn:
            found = await conn.scalar(
                select(tables.dashboard_logins.c.token_hash).where(
                    tables.dashboard_logins.c.token_hash == _hash("session:" + session_id)
                )
            )
        return found is not None

    async def redeem(self, token: str, now: float | None = None) -> bool:
        """True once for a token issued and not expired: one conditional update, so of two processes
        (or two clicks) redeeming it together exactly one wins."""
        if not token or len(token) > 200:
            return False
        at = time.time() if now is None else now
        d = tables.dashboard_logins.c
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(tables.dashboard_logins)
                .where(and_(d.token_hash == _hash(token), d.used_at.is_(None), d.expires_at > at))
                .values(used_at=at)
            )
        return bool(result.rowcount == 1)
