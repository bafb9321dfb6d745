"""SQL reads of the durable feed for live streams: heads and ranges of ``rm_feed`` (on a read-pool connection)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text

from ameide_pg.pool import Conn
from ameide_pg.statements import compiled
from ameide_query.views.feeds import head
from ameide_readmodel.feed.entries import FeedEntry

__all__ = ["entries", "head", "heads"]

_HEADS = compiled(text("SELECT feed_key, seq FROM rm_feed_heads WHERE feed_key = ANY(CAST(:feed_keys AS text[]))"))

_RANGE = compiled(
    text(
        """
    SELECT seq, tenant_id, payload, occurred_at FROM rm_feed
    WHERE feed_key = :feed_key AND seq > :after AND seq <= :upto
    ORDER BY seq LIMIT :limit
    """
    )
)


async def heads(conn: Conn, feed_keys: Sequence[str]) -> dict[str, int]:
    """The latest sequences of several feeds (feeds without entries are absent)."""
    if not feed_keys:
        return {}
    rows = await (await conn.execute(_HEADS, {"feed_keys": list(feed_keys)})).fetchall()
    return {str(row.feed_key): int(row.seq) for row in rows}


async def entries(conn: Conn, feed_key: str, *, after: int, upto: int, limit: int) -> list[FeedEntry]:
    """Retained entries of a feed with ``after < seq <= upto``, oldest first, at most ``limit``."""
    params = {"feed_key": feed_key, "after": after, "upto": upto, "limit": limit}
    rows = await (await conn.execute(_RANGE, params)).fetchall()
    return [
        FeedEntry(
            feed_key=feed_key,
            tenant_id=str(row.tenant_id),
            payload=bytes(row.payload),
            occurred_at=row.occurred_at,
            seq=int(row.seq),
        )
        for row in rows
    ]
