"""SQL reads of the durable feed for live streams: heads and ranges of ``rm_feed``."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from ameide_readmodel.feed.entries import FeedEntry

_HEAD = text("SELECT seq FROM rm_feed_heads WHERE feed_key = :feed_key")

_HEADS = text("SELECT feed_key, seq FROM rm_feed_heads WHERE feed_key = ANY(CAST(:feed_keys AS text[]))")

_RANGE = text(
    """
    SELECT seq, tenant_id, payload, occurred_at FROM rm_feed
    WHERE feed_key = :feed_key AND seq > :after AND seq <= :upto
    ORDER BY seq LIMIT :limit
    """
)


async def head(conn: AsyncConnection, feed_key: str) -> int:
    """The latest sequence of a feed (0 when it has none yet)."""
    value = (await conn.execute(_HEAD, {"feed_key": feed_key})).scalar_one_or_none()
    return int(value) if value is not None else 0


async def heads(conn: AsyncConnection, feed_keys: Sequence[str]) -> dict[str, int]:
    """The latest sequences of several feeds (feeds without entries are absent)."""
    if not feed_keys:
        return {}
    result = await conn.execute(_HEADS, {"feed_keys": list(feed_keys)})
    return {str(row.feed_key): int(row.seq) for row in result}


async def entries(conn: AsyncConnection, feed_key: str, *, after: int, upto: int, limit: int) -> list[FeedEntry]:
    """Retained entries of a feed with ``after < seq <= upto``, oldest first, at most ``limit``."""
    result = await conn.execute(_RANGE, {"feed_key": feed_key, "after": after, "upto": upto, "limit": limit})
    return [
        FeedEntry(
            feed_key=feed_key,
            tenant_id=str(row.tenant_id),
            payload=bytes(row.payload),
            occurred_at=row.occurred_at,
            seq=int(row.seq),
        )
        for row in result
    ]
