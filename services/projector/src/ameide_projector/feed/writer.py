"""Append updates to their feeds inside the projector's read-model transaction."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from ameide_pg.statements import compiled
from ameide_readmodel.feed.entries import FeedEntry, FeedUpdate

# One round trip per batch. The heads upsert runs over the feeds in sorted order, so two projector workers that
# touch overlapping feeds lock their head rows in the same order and cannot deadlock; the row lock then makes the
# per-feed sequence gapless (concurrent appenders to one feed queue behind each other until commit). The update
# of a data-modifying CTE runs even though the final SELECT does not read it.
_APPEND = compiled(
    text("""
WITH batch AS (
    SELECT u.feed_key, u.tenant_id, u.payload, u.occurred_at, u.chat_visibility_before,
           count(*) OVER (PARTITION BY u.feed_key) AS n,
           row_number() OVER (PARTITION BY u.feed_key ORDER BY u.ord) AS k
    FROM unnest(CAST(:feed_keys AS text[]), CAST(:tenant_ids AS text[]), CAST(:payloads AS bytea[]),
                CAST(:occurred AS timestamptz[]), CAST(:visibility_before AS smallint[]))
         WITH ORDINALITY AS u(feed_key, tenant_id, payload, occurred_at, chat_visibility_before, ord)
),
heads AS (
    INSERT INTO rm_feed_heads AS h (feed_key, tenant_id, seq)
    SELECT feed_key, min(tenant_id), count(*) FROM batch GROUP BY feed_key ORDER BY feed_key
    ON CONFLICT (feed_key) DO UPDATE SET seq = h.seq + EXCLUDED.seq
    RETURNING h.feed_key, h.seq
),
stored AS (
    INSERT INTO rm_feed (feed_key, seq, tenant_id, payload, occurred_at, chat_visibility_before)
    SELECT b.feed_key, hd.seq - b.n + b.k, b.tenant_id, b.payload, b.occurred_at, b.chat_visibility_before
    FROM batch AS b JOIN heads AS hd ON hd.feed_key = b.feed_key
)
SELECT feed_key, seq FROM heads
""")
)


async def append_feed_entries(conn: AsyncConnection, updates: Sequence[FeedUpdate]) -> list[FeedEntry]:
    """Give each update the next sequence of its feed and store it in ``rm_feed``, in the caller's transaction.

    Updates of one feed keep their order in ``updates``. Returns the stored entries in the same order as
    ``updates``; the caller publishes them after its transaction commits (``FeedPublisher.publish``).
    """
    if not updates:
        return []
    # Straight on the psycopg connection, in the caller's transaction: when the projector has queued its
    # read-model writes in pipeline mode, fetching these heads sends them all in this one round trip.
    if not conn.in_transaction():
        await conn.begin()
    raw = (await conn.get_raw_connection()).driver_connection
    if raw is None:
        raise RuntimeError("the feed connection has no psycopg connection")
    params = {
        "feed_keys": [u.feed_key for u in updates],
        "tenant_ids": [u.tenant_id for u in updates],
        "payloads": [u.payload for u in updates],
        "occurred": [u.occurred_at for u in updates],
        "visibility_before": [u.chat_visibility_before for u in updates],
    }
    async with raw.cursor() as cursor:
        await cursor.execute(_APPEND, params)
        heads = {str(feed_key): int(seq) for feed_key, seq in await cursor.fetchall()}
    counts: dict[str, int] = defaultdict(int)
    for update in updates:
        counts[update.feed_key] += 1
    seen: dict[str, int] = defaultdict(int)
    entries: list[FeedEntry] = []
    for update in updates:
        seen[update.feed_key] += 1
        seq = heads[update.feed_key] - counts[update.feed_key] + seen[update.feed_key]
        entries.append(
            FeedEntry(
                feed_key=update.feed_key,
                tenant_id=update.tenant_id,
                payload=update.payload,
                occurred_at=update.occurred_at,
                seq=seq,
                chat_visibility_before=update.chat_visibility_before,
            )
        )
    return entries
