"""Where each message stands (waiting, answering, answered, skipped, failed, expired) and the platform
ids of the reply parts already posted for it, so a restart can resume or close them.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("state", sa.String(16), nullable=True))
        batch.add_column(sa.Column("state_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("reply_parts", sa.JSON(), nullable=True))
    op.create_index("ix_messages_state", "messages", ["state"])


def downgrade() -> None:
    op.drop_index("ix_messages_state", "messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("reply_parts")
        batch.drop_column("state_at")
        batch.drop_column("state")
