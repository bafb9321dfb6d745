"""Best-effort "new events" hint: PUBLISH the touched outbox shards on ``ameide:outbox`` after commit.

The projector may wake early on it; it polls anyway, so a lost hint costs latency only. Publishing never blocks
or fails a command: commits only mark shards pending, and one background task publishes them, at most one
message per ``MIN_INTERVAL_SECONDS`` (a burst of commits becomes one hint; a PUBLISH per commit would cost more
CPU than the rest of a SendMessage's own work).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

import redis.asyncio as aioredis
import redis.exceptions

from ameide_eventstore import StreamAppend
from ameide_eventstore.sharding import shard_of

CHANNEL = "ameide:outbox"
MIN_INTERVAL_SECONDS = 0.005
# After a failed publish, wait before trying again (Redis down must not mean a busy loop of errors).
RETRY_PAUSE_SECONDS = 1.0

logger = logging.getLogger(__name__)


class OutboxHint:
    """Publishes outbox shard numbers ("3,17") after commits."""

    def __init__(self, client: aioredis.Redis, *, shard_count: int, channel: str = CHANNEL) -> None:
        self._client = client
        self._shard_count = shard_count
        self._channel = channel
        self._pending: set[int] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __call__(self, appends: Sequence[StreamAppend]) -> None:
        """Mark the appended streams' shards as having new events (returns at once)."""
        self._pending.update(shard_of(item.stream_id, self._shard_count) for item in appends)
        self._wake.set()
        if self._task is None:
            self._task = asyncio.create_task(self._publish_forever(), name="ameide-outbox-hint")

    async def _publish_forever(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            shards, self._pending = self._pending, set()
            try:
                await self._client.publish(self._channel, ",".join(str(shard) for shard in sorted(shards)))
            except (redis.exceptions.RedisError, OSError) as exc:
                logger.debug("outbox hint not published: %s", exc)
                await asyncio.sleep(RETRY_PAUSE_SECONDS)
            else:
                await asyncio.sleep(MIN_INTERVAL_SECONDS)

    async def close(self) -> None:
        """Stop publishing and close the Redis client."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._client.aclose()
