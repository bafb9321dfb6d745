"""The one way a deployable connects to Redis.

Replies stay bytes (``decode_responses`` off): feed payloads are binary protobuf, and the live reader refuses a
decoding client. Connections are made on first use, so building the client never fails for an unreachable Redis:
each deployable decides what an outage means for it (the projector catches up later, the query service polls
``rm_feed``, the command service's wake-up hint is best effort).
"""

from __future__ import annotations

from redis.asyncio import Redis


def redis_client(url: str) -> Redis:
    """A client for ``url`` (``AMEIDE_REDIS_URL``); the caller closes it (``aclose``)."""
    return Redis.from_url(url, decode_responses=False)
