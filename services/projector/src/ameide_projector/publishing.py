"""Publishing committed feed entries in the background, in commit order.

The outbox consumer awaits a batch's after-commit callback before it claims the next batch. Publishing to Redis
there (one XADD per entry, pipelined) took about a fifth of a batch's time, so the callback only queues the
entries; one task publishes them in commit order, several batches per round trip when it falls behind. Nothing is
lost when the process dies with entries queued: they are committed in ``rm_feed``, and the publisher's catch-up
loop republishes whatever Redis lacks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Sequence
from typing import Protocol

from ameide_projector.observability import PublishTraces
from ameide_readmodel.feed.entries import FeedEntry

logger = logging.getLogger(__name__)

# Entries per publish call when catching up, and the most that may wait before batches are held back.
CHUNK = 2_000
MAX_PENDING = 20_000
# On shutdown, how long queued entries may take to reach Redis (the catch-up loop covers the rest).
STOP_FLUSH_SECONDS = 5.0


class Publisher(Protocol):
    """Sends committed feed entries to Redis (ameide_projector.feed's FeedPublisher)."""

    async def publish(self, entries: Sequence[FeedEntry]) -> None:
        """Publish after commit; must not raise for Redis trouble (the publisher catches up from rm_feed)."""
        ...


class QueuedPublisher:
    """A ``Publisher`` that returns at once and publishes from one background task, preserving order."""

    def __init__(self, publisher: Publisher, *, max_pending: int = MAX_PENDING) -> None:
        self._publisher = publisher
        self._max_pending = max_pending
        self._pending: deque[FeedEntry] = deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._traces = PublishTraces()

    async def publish(self, entries: Sequence[FeedEntry]) -> None:
        """Queue committed entries; waits only while too many are already queued (back-pressure)."""
        if not entries:
            return
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="ameide-feed-publish")
        while len(self._pending) >= self._max_pending:
            await self._idle.wait()
        self._pending.extend(entries)
        self._traces.queued(len(entries))
        self._idle.clear()
        self._wake.set()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                chunk = [self._pending.popleft() for _ in range(min(CHUNK, len(self._pending)))]
                try:
                    with self._traces.sending(len(chunk)):
                        await self._publisher.publish(chunk)
                except Exception:
                    # The publisher catches up from rm_feed; this task must keep serving later batches.
                    logger.exception("publishing %d feed entries failed", len(chunk))
            self._idle.set()

    async def flush(self) -> None:
        """Wait until everything queued so far has been handed to Redis."""
        await self._idle.wait()

    async def stop(self) -> None:
        """Flush (bounded by STOP_FLUSH_SECONDS), then stop the task."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(STOP_FLUSH_SECONDS):
                await self.flush()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
