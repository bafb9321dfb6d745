"""Bounded re-decisions after version conflicts, queued per stream inside the process.

After a conflict, the commands contending for a hot stream (twenty first messages about one artifact, a busy
TEAM chat) take turns on an in-process lock per stream instead of colliding again round after round. A first
attempt takes no lock while nobody holds or waits for its streams', so uncontended commands pay nothing; once some
command is re-deciding on a stream, newcomers queue behind it too, or lock-free first attempts could overtake a
retry until it runs out of attempts (seen as ABORTED in the reliability suite's busy TEAM chats). Writers in other
processes are still handled by the version check and the bounded, jittered retries.
"""

from __future__ import annotations

import asyncio
import random
import weakref
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often a conflicting command is decided again, and how long to wait in between (jittered)."""

    attempts: int = 5
    backoff_seconds: float = 0.002
    jitter: Callable[[], float] = field(default=random.random)

    def delay(self, attempt: int) -> float:
        """Seconds to wait after the failed ``attempt`` (0-based)."""
        return self.backoff_seconds * (attempt + 1) * self.jitter()


class StreamLocks:
    """One in-process lock per stream id, alive only while someone holds or waits for it."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def queued(self, stream_ids: Iterable[str]) -> bool:
        """Whether any of ``stream_ids`` is held or waited for (a command is re-deciding on it)."""
        return any(stream_id in self._locks for stream_id in stream_ids if stream_id)

    @asynccontextmanager
    async def hold(self, stream_ids: Iterable[str]) -> AsyncIterator[None]:
        """Hold the locks of ``stream_ids`` (taken in sorted order, so two holders never deadlock)."""
        locks = []
        for stream_id in sorted(set(filter(None, stream_ids))):
            lock = self._locks.get(stream_id)
            if lock is None:
                lock = self._locks[stream_id] = asyncio.Lock()
            locks.append(lock)
        async with AsyncExitStack() as stack:
            for lock in locks:
                await stack.enter_async_context(lock)
            yield
