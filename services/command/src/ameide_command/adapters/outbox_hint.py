"""Best-effort "new events" hint: PUBLISH the touched outbox shards on ``ameide:outbox`` after commit.

The projector may wake early on it; it polls anyway, so a lost hint costs latency only. Publishing never blocks
or fails a command: commits only mark shards pending, and one background task publishes them, at most one
message per ``MIN_INTERVAL_SECONDS`` (a burst of commits becomes one hint; a PUBLISH per commit would cost more
CPU than the rest of a SendMessage's own work).

Hints go out on a connection of their own that asked Redis for no replies (``CLIENT REPLY OFF``): a hint is
written and forgotten. Awaiting each PUBLISH's reply (the client's command path, a read and a wake-up) cost
four times the CPU of writing it, in this process and in Redis. A failed write drops the connection; the next
hint opens a new one after ``RETRY_PAUSE_SECONDS``. Where Redis refuses ``CLIENT REPLY`` (an ACL without the
``client`` command), replies do come: each hint first reads and drops whatever has arrived, so they never pile up
in the socket or in Redis's output buffer, and hints still go out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

import redis.asyncio as aioredis
import redis.exceptions
from redis.asyncio.connection import AbstractConnection

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
        self._connection: AbstractConnection | None = None

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
                await self._publish(",".join(str(shard) for shard in sorted(shards)))
            except (redis.exceptions.RedisError, OSError) as exc:
                logger.debug("outbox hint not published: %s", exc)
                await self._drop_connection()
                await asyncio.sleep(RETRY_PAUSE_SECONDS)
            else:
                await asyncio.sleep(MIN_INTERVAL_SECONDS)

    async def _publish(self, message: str) -> None:
        connection = self._connection
        if connection is None:
            # Its own connection, never handed back to the client's pool: nobody else may expect replies on it.
            connection = self._client.connection_pool.make_connection()  # type: ignore[no-untyped-call]
            self._connection = connection
            await connection.connect()
            await connection.send_command("CLIENT", "REPLY", "OFF", check_health=False)
        await self._discard_replies(connection)
        await connection.send_command("PUBLISH", self._channel, message, check_health=False)

    async def _discard_replies(self, connection: AbstractConnection) -> None:
        """Read and drop replies Redis sent anyway (it refused ``CLIENT REPLY OFF``); none arrive otherwise."""
        while await connection.can_read():
            try:
                await connection.read_response(disable_decoding=True, disconnect_on_error=False)
            except redis.exceptions.ResponseError as exc:  # the refusal itself: logged once per connection
                logger.warning("Redis refused CLIENT REPLY OFF; the outbox hint reads and drops its replies: %s", exc)

    async def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(redis.exceptions.RedisError, OSError):
                await connection.disconnect()

    async def close(self) -> None:
        """Stop publishing and close the Redis client."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._drop_connection()
        await self._client.aclose()
