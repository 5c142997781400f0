"""The dashboard's Live filters read the newest messages first: an index per filter ending in the
message id, so `WHERE state = ? ORDER BY id DESC LIMIT 50` walks the index backwards and stops (the
state-only index fetched every message in that state and sorted them: 1 s on 200,000 messages). The
channel filter already had (channel_id, id); the member filter gets (author_id, id). (state, id) serves
every query the state-only index served, which it replaces.

Revision ID: 0015
Revises: 0014
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_messages_state_id", "messages", ["state", "id"])
    op.drop_index("ix_messages_state", table_name="messages")
    op.create_index("ix_messages_author_id_id", "messages", ["author_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_messages_author_id_id", table_name="messages")
    op.create_index("ix_messages_state", "messages", ["state"])
    op.drop_index("ix_messages_state_id", table_name="messages")
