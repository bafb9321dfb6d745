"""rm_feed.chat_visibility_before: who could read a chat just before an update that reports losing it.

An artifact feed's ``threads_added`` / ``threads_removed`` are delivered per subscriber, only to those who may read
the chat they name. When the update reports that a chat became PRIVATE, was deleted or was unlinked, the readers
it no longer has must still be told that it is gone, and nobody else may learn of it: the chat's visibility just
before the change says who those readers were. Every other entry holds 0 (the default fills existing rows).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "rm_feed",
        sa.Column("chat_visibility_before", sa.SmallInteger, nullable=False, server_default=sa.text("0")),
    )


def downgrade() -> None:
    op.drop_column("rm_feed", "chat_visibility_before")
