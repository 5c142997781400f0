"""Group roleplay (issue I): a persona's talkativeness, model and face; which characters are in a channel.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("personas") as batch:
        batch.add_column(sa.Column("talkativeness", sa.Float(), nullable=False, server_default="0.5"))
        batch.add_column(sa.Column("model", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("avatar", sa.LargeBinary(), nullable=True))
    op.create_table(
        "cast_members",
        sa.Column("channel_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("persona", sa.String(48), primary_key=True),
        sa.Column("joined_after_id", sa.BigInteger(), nullable=False),
        sa.Column("model", sa.String(64), nullable=False, server_default=""),
    )


def downgrade() -> None:
    op.drop_table("cast_members")
    with op.batch_alter_table("personas") as batch:
        batch.drop_column("avatar")
        batch.drop_column("model")
        batch.drop_column("talkativeness")
