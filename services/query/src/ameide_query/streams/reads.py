"""SQL reads of live streams (on a read-pool connection): heads and ranges of ``rm_feed``; chats that updates name."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence

from sqlalchemy import text

from ameide_pg.pool import Conn
from ameide_pg.statements import compiled
from ameide_query.views.access import ChatFacts
from ameide_query.views.feeds import head
from ameide_readmodel.feed.entries import FeedEntry

__all__ = ["entries", "head", "heads"]

_HEADS = compiled(text("SELECT feed_key, seq FROM rm_feed_heads WHERE feed_key = ANY(CAST(:feed_keys AS text[]))"))

_RANGE = compiled(
    text(
        """
    SELECT seq, tenant_id, payload, occurred_at, chat_visibility_before FROM rm_feed
    WHERE feed_key = :feed_key AND seq > :after AND seq <= :upto
    ORDER BY seq LIMIT :limit
    """
    )
)

# The chats and the feed's head in one snapshot: always one row, the chat columns NULL when none is found.
_CHAT_FACTS = compiled(
    text(
        """
    SELECT coalesce((SELECT h.seq FROM rm_feed_heads AS h WHERE h.feed_key = :feed_key), 0) AS feed_seq,
           c.id, c.tenant_id, c.owner, c.visibility, c.deleted, c.title
    FROM (SELECT 1) AS one LEFT JOIN rm_chats AS c ON c.id = ANY(CAST(:ids AS uuid[]))
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
            chat_visibility_before=int(row.chat_visibility_before),
        )
        for row in rows
    ]


async def chat_facts(
    conn: Conn, feed_key: str, chat_ids: Collection[uuid.UUID]
) -> tuple[int, dict[uuid.UUID, ChatFacts]]:
    """The feed's head and the chats found among ``chat_ids``, read in one snapshot."""
    rows = await (await conn.execute(_CHAT_FACTS, {"feed_key": feed_key, "ids": list(chat_ids)})).fetchall()
    found = {
        row.id: ChatFacts(str(row.tenant_id), str(row.owner), int(row.visibility), bool(row.deleted), str(row.title))
        for row in rows
        if row.id is not None
    }
    return int(rows[0].feed_seq), found
