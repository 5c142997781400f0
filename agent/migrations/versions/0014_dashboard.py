"""The web dashboard: what each run decided (message_notes), one-time login links (dashboard_logins),
and an index on messages.state_at so the live feed reads only what changed.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

AutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "message_notes",
        sa.Column("id", AutoId, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
    )
    op.create_index("ix_message_notes_message", "message_notes", ["message_id"])
    op.create_table(
        "dashboard_logins",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("used_at", sa.Float(), nullable=True),
    )
    op.create_index("ix_messages_state_at", "messages", ["state_at"])


def downgrade() -> None:
    op.drop_index("ix_messages_state_at", table_name="messages")
    op.drop_table("dashboard_logins")
    op.drop_index("ix_message_notes_message", table_name="message_notes")
    op.drop_table("message_notes")
