"""Virtual shards of the outbox: a stable hash of the stream id, so one stream always lands on one shard."""

from __future__ import annotations

import uuid

DEFAULT_SHARD_COUNT = 64

# The same function in SQL (for ad-hoc queries and the agreement test): the last 32 bits of the UUID,
# read as an unsigned integer. Those bits are random in UUIDv4 and UUIDv7 alike.
SHARD_SQL = "(('x' || right(replace({column}::text, '-', ''), 8))::bit(32)::bigint % {shard_count})"


def shard_of(stream_id: uuid.UUID, shard_count: int = DEFAULT_SHARD_COUNT) -> int:
    """The outbox shard of a stream: identical in every process and in SQL (``SHARD_SQL``)."""
    return int.from_bytes(stream_id.bytes[12:], "big") % shard_count
