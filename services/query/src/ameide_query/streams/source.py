"""Fetch a range of a feed: from Redis while the range is inside the stream's window, else from ``rm_feed``."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ameide_pg.pool import ConnectionPool
from ameide_query.streams import reads
from ameide_query.streams.hub import FeedHub
from ameide_readmodel.feed import keys
from ameide_readmodel.feed.entries import FeedEntry
from ameide_runtime.errors import FailedPrecondition

_log = logging.getLogger(__name__)

# A read replica may not show an entry Redis already announced; wait a little for it, this many times.
_REPLICA_RETRIES = 100
_REPLICA_WAIT = 0.05


class EntrySource:
    """Reads feed entries for replay and gap filling."""

    def __init__(self, redis: Redis, db: ConnectionPool, hub: FeedHub, *, key_prefix: str = keys.KEY_PREFIX) -> None:
        self._redis = redis
        self._db = db
        self._hub = hub
        self._prefix = key_prefix

    async def fetch(self, feed_key: str, *, after: int, upto: int, limit: int) -> list[FeedEntry]:
        """Entries ``after < seq <= upto`` in order, starting exactly at ``after + 1`` (at most ``limit``).

        Raises FAILED_PRECONDITION (RESUME_TOKEN_EXPIRED) when ``after + 1`` is no longer retained anywhere.
        """
        if upto <= after:
            return []
        if not self._hub.degraded:
            cached = await self._from_redis(feed_key, after=after, upto=upto, limit=limit)
            if cached:
                return cached
        for _ in range(_REPLICA_RETRIES):
            async with self._db.connection() as conn:
                stored = await reads.entries(conn, feed_key, after=after, upto=upto, limit=limit)
            if stored and stored[0].seq == after + 1:
                return _contiguous(stored, after)
            if stored:
                raise FailedPrecondition(
                    "resume token expired: the updates after it are no longer retained; reload and subscribe again",
                    reason="RESUME_TOKEN_EXPIRED",
                )
            await asyncio.sleep(_REPLICA_WAIT)
        raise FailedPrecondition(
            "resume token expired: the updates after it are no longer retained; reload and subscribe again",
            reason="RESUME_TOKEN_EXPIRED",
        )

    async def _from_redis(self, feed_key: str, *, after: int, upto: int, limit: int) -> list[FeedEntry]:
        """The contiguous run from ``after + 1`` held by Redis; empty when Redis lacks ``after + 1``."""
        try:
            raw: Any = await self._redis.xrange(
                keys.stream_key(feed_key, self._prefix),
                min=keys.entry_id(after + 1),
                max=keys.entry_id(upto),
                count=limit,
            )
        except (RedisError, OSError) as exc:
            _log.debug("XRANGE failed, reading rm_feed: %s", exc)
            return []
        found: list[FeedEntry] = []
        for entry_id, fields in raw:
            try:
                found.append(keys.decode_fields(feed_key, entry_id, fields))
            except (KeyError, ValueError):
                break
        return _contiguous(found, after)


def _contiguous(entries: list[FeedEntry], after: int) -> list[FeedEntry]:
    """The prefix of ``entries`` that continues ``after`` without a gap."""
    run: list[FeedEntry] = []
    expected = after + 1
    for entry in entries:
        if entry.seq != expected:
            break
        run.append(entry)
        expected += 1
    return run
