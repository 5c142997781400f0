"""Messages seen only by their author (a private `/chat` question and its ephemeral answer): kept out
of every channel's context, summaries and thread activity; a reminder set in one is delivered by
direct message.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("private", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("reminders") as batch:
        batch.add_column(sa.Column("private", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("reminders") as batch:
        batch.drop_column("private")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("private")
