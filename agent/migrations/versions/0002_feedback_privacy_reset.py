"""Feedback and corrections, members' privacy default, channel window reset.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

AutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("privacy", sa.String(16), nullable=False, server_default="private"))
    with op.batch_alter_table("channels") as batch:
        batch.add_column(sa.Column("window_after_id", sa.BigInteger(), nullable=True))
    op.create_table(
        "feedback",
        sa.Column("id", AutoId, primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=True),
        sa.Column("channel_id", sa.BigInteger(), nullable=True),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
    )
    op.create_index("ix_feedback_message", "feedback", ["message_id"])


def downgrade() -> None:
    op.drop_index("ix_feedback_message", "feedback")
    op.drop_table("feedback")
    with op.batch_alter_table("channels") as batch:
        batch.drop_column("window_after_id")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("privacy")
