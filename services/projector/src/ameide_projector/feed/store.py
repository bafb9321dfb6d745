"""SQL the publisher needs besides appending: published high-water marks, catch-up reads, pruning."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from ameide_readmodel.feed.entries import FeedEntry

# Rows are locked in feed order (the projector's append locks heads in the same order): no deadlock cycle.
_MARK_PUBLISHED = text(
    """
    WITH v AS (
        SELECT * FROM unnest(CAST(:feed_keys AS text[]), CAST(:seqs AS bigint[])) AS v(feed_key, seq)
    ),
    locked AS (
        SELECT h.feed_key FROM rm_feed_heads AS h JOIN v ON v.feed_key = h.feed_key
        WHERE h.published_seq < v.seq ORDER BY h.feed_key FOR UPDATE OF h
    )
    UPDATE rm_feed_heads AS h SET published_seq = v.seq
    FROM v JOIN locked ON locked.feed_key = v.feed_key
    WHERE h.feed_key = v.feed_key AND h.published_seq < v.seq
    """
)

_UNPUBLISHED = text(
    """
    SELECT feed_key, published_seq, seq FROM rm_feed_heads
    WHERE seq > published_seq ORDER BY feed_key LIMIT :limit
    """
)

_ENTRIES_AFTER = text(
    """
    SELECT f.feed_key, f.seq, f.tenant_id, f.payload, f.occurred_at, f.chat_visibility_before
    FROM unnest(CAST(:feed_keys AS text[]), CAST(:after AS bigint[]), CAST(:upto AS bigint[]))
         AS v(feed_key, after_seq, upto_seq)
    JOIN rm_feed AS f ON f.feed_key = v.feed_key AND f.seq > v.after_seq AND f.seq <= v.upto_seq
    ORDER BY f.feed_key, f.seq
    """
)

# After Redis lost its data: forget what was published for every feed that still has retained entries (older
# feeds have nothing left to resume from), keeping the tail to republish short.
_FORGET_PUBLISHED = text(
    """
    UPDATE rm_feed_heads AS h SET published_seq = greatest(h.seq - :tail, 0)
    WHERE h.published_seq > greatest(h.seq - :tail, 0)
      AND EXISTS (SELECT 1 FROM rm_feed AS f WHERE f.feed_key = h.feed_key)
    """
)

_PRUNE = text(
    """
    DELETE FROM rm_feed WHERE ctid = ANY(ARRAY(
        SELECT ctid FROM rm_feed WHERE occurred_at < :cutoff LIMIT :limit
    ))
    """
)


async def mark_published(conn: AsyncConnection, marks: Mapping[str, int]) -> None:
    """Raise the published high-water of these feeds (never lowers it)."""
    if not marks:
        return
    keys = sorted(marks)
    await conn.execute(_MARK_PUBLISHED, {"feed_keys": keys, "seqs": [marks[k] for k in keys]})


async def unpublished_feeds(conn: AsyncConnection, *, limit: int) -> list[tuple[str, int, int]]:
    """Feeds whose head is above the published high-water: ``(feed_key, published_seq, head_seq)``."""
    result = await conn.execute(_UNPUBLISHED, {"limit": limit})
    return [(str(r.feed_key), int(r.published_seq), int(r.seq)) for r in result]


async def entries_between(conn: AsyncConnection, ranges: list[tuple[str, int, int]]) -> list[FeedEntry]:
    """Retained entries with ``after < seq <= upto`` for each ``(feed_key, after, upto)``, by feed then seq."""
    if not ranges:
        return []
    result = await conn.execute(
        _ENTRIES_AFTER,
        {
            "feed_keys": [r[0] for r in ranges],
            "after": [r[1] for r in ranges],
            "upto": [r[2] for r in ranges],
        },
    )
    return [
        FeedEntry(
            feed_key=str(r.feed_key),
            tenant_id=str(r.tenant_id),
            payload=bytes(r.payload),
            occurred_at=r.occurred_at,
            seq=int(r.seq),
            chat_visibility_before=int(r.chat_visibility_before),
        )
        for r in result
    ]


async def forget_published(conn: AsyncConnection, *, tail: int) -> int:
    """Lower published high-waters to ``head - tail`` for feeds with retained entries; return how many."""
    result = await conn.execute(_FORGET_PUBLISHED, {"tail": tail})
    return int(result.rowcount)


async def prune_before(conn: AsyncConnection, cutoff: datetime, *, limit: int) -> int:
    """Delete up to ``limit`` feed entries that occurred before ``cutoff``; return how many."""
    result = await conn.execute(_PRUNE, {"cutoff": cutoff, "limit": limit})
    return int(result.rowcount)
