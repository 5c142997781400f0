"""Persona cards and which persona speaks where.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "personas",
        sa.Column("scope", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(48), primary_key=True),
        sa.Column("description", sa.Text(), nullable=False, server_default=""),
        sa.Column("style", sa.Text(), nullable=False, server_default=""),
        sa.Column("examples", sa.JSON(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False, server_default=""),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "persona_choices",
        sa.Column("place", sa.String(40), primary_key=True),
        sa.Column("persona", sa.String(48), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("persona_choices")
    op.drop_table("personas")
