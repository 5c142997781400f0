"""The record's tables for reminders and scheduled posts, and each member's time zone."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Index, String, Table, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from agent.memory.tables import AutoId, Base


class Reminder(Base):
    """One reminder (`kind` "remind": a one-off for its owner) or a recurring post (`kind` "post": an
    admin's, run through the reply graph at each occurrence).

    `state`: pending → firing → sent | missed | failed, or cancelled. A one-off is claimed (pending →
    firing) by one conditional update, so of several processes only one posts it; a recurring post's
    occurrence is claimed by moving `last_fire` forward the same way."""

    __tablename__ = "reminders"
    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(8))
    guild_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    channel_id: Mapped[int] = mapped_column(BigInteger)
    channel_name: Mapped[str] = mapped_column(String(200), default="")
    is_dm: Mapped[bool] = mapped_column(Boolean, default=False)
    owner_id: Mapped[int] = mapped_column(BigInteger)
    owner_name: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text)
    zone: Mapped[str] = mapped_column(String(64), default="UTC")
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)  # a one-off
    cron: Mapped[str | None] = mapped_column(String(120), nullable=True)  # a recurrence: "m h dom mon dow"
    every: Mapped[str | None] = mapped_column(String(200), nullable=True)  # the recurrence as written
    state: Mapped[str] = mapped_column(String(12), default="pending")
    holder: Mapped[str | None] = mapped_column(String(40), nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_fire: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    fired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The owner's rights when it was made (a recurring post runs with them: access rules, tools, search).
    rights: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Set in a private exchange (an ephemeral /chat): delivered to the owner by direct message, never
    # posted in the channel where others would read what only they saw.
    private: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    __table_args__ = (
        Index("ix_reminders_owner", "owner_id", "state"),
        Index("ix_reminders_guild", "guild_id", "state"),
    )


class MemberZone(Base):
    """A member's own time zone (an IANA name), chosen with `/schedule timezone`."""

    __tablename__ = "member_zones"
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    zone: Mapped[str] = mapped_column(String(64))


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


reminders = _table(Reminder)
member_zones = _table(MemberZone)
