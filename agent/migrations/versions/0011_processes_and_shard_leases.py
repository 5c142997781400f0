"""Several processes, one bot: who is running (heartbeats), which shards each holds (leases), and which
process is answering a message (so a survivor resumes only a dead process's questions).

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "processes",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("seen_at", sa.Float, nullable=False),
        sa.Column("layout", sa.String(8), nullable=False),
        sa.Column("shard_count", sa.Integer, nullable=True),
        sa.Column("shards", sa.JSON, nullable=False),
    )
    op.create_table(
        "shard_leases",
        sa.Column("shard_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("holder", sa.String(40), nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("holder", sa.String(40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("holder")
    op.drop_table("shard_leases")
    op.drop_table("processes")
