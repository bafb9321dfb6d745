"""Tables of the durable update feed (design.md section 7).

``rm_feed`` holds every live update of every chat and artifact feed under a gapless per-feed ``seq``;
``rm_feed_heads`` holds each feed's latest ``seq`` (what GetChat/GetMessages/GetArtifact issue checkpoint tokens
at) and ``published_seq``, the high-water of what has reached Redis. Rows of ``rm_feed`` are pruned once older
than the resume-token TTL; heads are kept forever so sequences never restart. A rebuild leaves both alone.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, LargeBinary, SmallInteger, Table, Text, text

from ameide_readmodel.base import TIMESTAMP, metadata

rm_feed = Table(
    "rm_feed",
    metadata,
    Column("feed_key", Text, primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("tenant_id", Text, nullable=False),
    # A serialized ChatUpdate / ArtifactUpdate without checkpoint_token (added per subscriber when sent).
    Column("payload", LargeBinary, nullable=False),
    Column("occurred_at", TIMESTAMP, nullable=False),
    # FeedUpdate.chat_visibility_before: 0 unless the update reports a change of who may read a chat.
    Column("chat_visibility_before", SmallInteger, nullable=False, server_default=text("0")),
    # BRIN: rows arrive roughly in time order, and the pruner only needs coarse ranges.
    Index("rm_feed_occurred_at_brin", "occurred_at", postgresql_using="brin"),
)

rm_feed_heads = Table(
    "rm_feed_heads",
    metadata,
    Column("feed_key", Text, primary_key=True),
    Column("tenant_id", Text, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("published_seq", BigInteger, nullable=False, server_default=text("0")),
    # The publisher's catch-up loop looks only at feeds Redis may lack; this index keeps that cheap.
    Index("rm_feed_heads_unpublished", "feed_key", postgresql_where=text("seq > published_seq")),
)
