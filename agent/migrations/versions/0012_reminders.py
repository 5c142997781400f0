"""Reminders and scheduled posts, and members' time zones. (APScheduler's own tables are created by
its data store at start, under the same migration lock.)

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

AutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "reminders",
        sa.Column("id", AutoId, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("guild_id", sa.BigInteger, nullable=True),
        sa.Column("channel_id", sa.BigInteger, nullable=False),
        sa.Column("channel_name", sa.String(200), nullable=False, server_default=""),
        sa.Column("is_dm", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("owner_id", sa.BigInteger, nullable=False),
        sa.Column("owner_name", sa.String(200), nullable=False, server_default=""),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("zone", sa.String(64), nullable=False, server_default="UTC"),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cron", sa.String(120), nullable=True),
        sa.Column("every", sa.String(200), nullable=True),
        sa.Column("state", sa.String(12), nullable=False, server_default="pending"),
        sa.Column("holder", sa.String(40), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_fire", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rights", sa.JSON, nullable=False),
    )
    op.create_index("ix_reminders_owner", "reminders", ["owner_id", "state"])
    op.create_index("ix_reminders_guild", "reminders", ["guild_id", "state"])
    op.create_table(
        "member_zones",
        sa.Column("user_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("zone", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("member_zones")
    op.drop_index("ix_reminders_guild", "reminders")
    op.drop_index("ix_reminders_owner", "reminders")
    op.drop_table("reminders")
