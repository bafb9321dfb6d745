"""Chat search vectors move out of rm_chats into rm_chat_search.

Every message rewrites its chat's rm_chats row (count, activity, version); with the search vector on that row each
rewrite also recomputed the vector and inserted GIN entries for it, which made the chat upsert 2.5x as expensive.
rm_chat_search is written only when a chat's title, description or tags change.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rm_chat_search",
        sa.Column("chat_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("search", pg.TSVECTOR, nullable=False),
    )
    op.execute("INSERT INTO rm_chat_search (chat_id, tenant_id, search) SELECT id, tenant_id, search FROM rm_chats")
    op.create_index("rm_chat_search_idx", "rm_chat_search", ["search"], postgresql_using="gin")
    op.drop_index("rm_chats_search_idx", table_name="rm_chats")
    op.drop_column("rm_chats", "search")


def downgrade() -> None:
    op.add_column(
        "rm_chats",
        sa.Column("search", pg.TSVECTOR, sa.Computed("rm_chat_document(title, description, tags)", persisted=True)),
    )
    op.create_index("rm_chats_search_idx", "rm_chats", ["search"], postgresql_using="gin")
    op.drop_table("rm_chat_search")
