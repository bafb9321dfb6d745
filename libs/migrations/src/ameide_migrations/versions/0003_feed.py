"""Live-update feed: rm_feed (durable updates under a gapless per-feed sequence) and rm_feed_heads.

Written by hand so this revision never changes when the code moves on; ``ameide_readmodel.feed.tables``
describes the same tables.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rm_feed",
        sa.Column("feed_key", sa.Text, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("feed_key", "seq", name="rm_feed_pkey"),
    )
    # BRIN: rows arrive roughly in time order and the pruner only needs coarse ranges; cheap to maintain.
    op.create_index("rm_feed_occurred_at_brin", "rm_feed", ["occurred_at"], postgresql_using="brin")
    op.create_table(
        "rm_feed_heads",
        sa.Column("feed_key", sa.Text, nullable=False),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("published_seq", sa.BigInteger, nullable=False, server_default=sa.text("0")),
        sa.PrimaryKeyConstraint("feed_key", name="rm_feed_heads_pkey"),
    )
    # The publisher's catch-up pass reads only the feeds Redis may lack.
    op.create_index(
        "rm_feed_heads_unpublished",
        "rm_feed_heads",
        ["feed_key"],
        postgresql_where=sa.text("seq > published_seq"),
    )


def downgrade() -> None:
    op.drop_table("rm_feed_heads")
    op.drop_table("rm_feed")
