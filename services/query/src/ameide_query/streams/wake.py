"""Interrupt the shared reader's blocking XREAD when the set of followed feeds grows.

The reader includes a private stream key in every XREAD; adding an entry to it from another connection makes
the blocked read return at once, so a new feed is followed without waiting for the block timeout.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from redis.asyncio import Redis
from redis.exceptions import RedisError

_log = logging.getLogger(__name__)


class ReaderWake:
    """The wake key of one reader, and at most one wake-up in flight."""

    def __init__(self, redis: Redis, key_prefix: str) -> None:
        self._redis = redis
        self.key = f"{key_prefix}__wake__:{uuid.uuid4().hex}"
        self._pending = False
        self._tasks: set[asyncio.Task[None]] = set()

    def send(self) -> None:
        """Wake the reader soon (coalesced: a wake-up already on its way covers this one)."""
        if self._pending:
            return
        self._pending = True
        task = asyncio.create_task(self._send())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self) -> None:
        try:
            await self._redis.xadd(self.key, {b"w": b"1"}, maxlen=8, approximate=False)
            await self._redis.expire(self.key, 3600)
        except (RedisError, OSError) as exc:
            _log.debug("could not wake the live reader: %s", exc)
        finally:
            self._pending = False

    async def close(self) -> None:
        """Remove the key."""
        try:
            await self._redis.delete(self.key)
        except (RedisError, OSError) as exc:
            _log.debug("could not remove the wake key: %s", exc)
