"""Wake the outbox consumer early when the command service hints at new events (Redis pub/sub, best effort).

The command service PUBLISHes on ``ameide:outbox`` after commits. A lost hint, or Redis being down, costs only
latency: the consumer polls anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import redis.asyncio as aioredis
import redis.exceptions

CHANNEL = "ameide:outbox"
_RETRY_SECONDS = 1.0

logger = logging.getLogger(__name__)


class OutboxWake:
    """A ``wake`` for ``PostgresOutboxConsumer``: an awaitable that completes on the next hint."""

    def __init__(self, client: aioredis.Redis, *, channel: str = CHANNEL) -> None:
        self._client = client
        self._channel = channel
        self._event = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start listening in the background."""
        if self._task is None:
            self._task = asyncio.create_task(self._listen(), name="ameide-outbox-wake")

    async def stop(self) -> None:
        """Stop listening."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def __call__(self) -> None:
        """Return at the next hint (the consumer bounds the wait with its poll interval)."""
        await self._event.wait()
        self._event.clear()

    async def _listen(self) -> None:
        while True:
            try:
                async with self._client.pubsub() as pubsub:
                    await pubsub.subscribe(self._channel)
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self._event.set()
            except (redis.exceptions.RedisError, OSError) as exc:
                logger.debug("outbox hints unavailable: %s", exc)
            await asyncio.sleep(_RETRY_SECONDS)
