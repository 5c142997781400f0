"""The trainer (issue T): uploaded training examples, fine-tuning jobs, and a rating on feedback.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

AutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("feedback") as batch:
        batch.add_column(sa.Column("rating", sa.String(8), nullable=True))
    op.create_table(
        "training_examples",
        sa.Column("id", AutoId, primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=True),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("label", sa.String(8), nullable=False),
        sa.Column("messages", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(120), nullable=False),
    )
    op.create_index("ix_training_examples_guild", "training_examples", ["guild_id"])
    op.create_table(
        "training_jobs",
        sa.Column("id", AutoId, primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=True),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("provider", sa.String(8), nullable=False),
        sa.Column("base", sa.String(64), nullable=False),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("local_slot", sa.Integer(), nullable=True, unique=True),
        sa.Column("train_examples", sa.Integer(), nullable=False),
        sa.Column("test_examples", sa.Integer(), nullable=False),
        sa.Column("train_bytes", sa.Integer(), nullable=False),
        sa.Column("epochs", sa.Integer(), nullable=False),
        sa.Column("remote_job_id", sa.String(120), nullable=True),
        sa.Column("remote_file_id", sa.String(120), nullable=True),
        sa.Column("progress", sa.JSON(), nullable=False),
        sa.Column("trained_tokens", sa.Integer(), nullable=True),
        sa.Column("cost_usd", sa.Float(), nullable=True),
        sa.Column("cpu_seconds", sa.Float(), nullable=True),
        sa.Column("model_name", sa.String(64), nullable=True, unique=True),
        sa.Column("result_model", sa.String(200), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("holder", sa.String(40), nullable=True),
        sa.Column("lease_until", sa.Float(), nullable=True),
        sa.Column("worker_pid", sa.Integer(), nullable=True),
        sa.Column("worker_host", sa.String(255), nullable=True),
        sa.Column("progress_channel_id", sa.BigInteger(), nullable=True),
        sa.Column("progress_message_id", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_training_jobs_state", "training_jobs", ["state"])


def downgrade() -> None:
    op.drop_index("ix_training_jobs_state", table_name="training_jobs")
    op.drop_table("training_jobs")
    op.drop_index("ix_training_examples_guild", table_name="training_examples")
    op.drop_table("training_examples")
    with op.batch_alter_table("feedback") as batch:
        batch.drop_column("rating")
