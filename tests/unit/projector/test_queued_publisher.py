"""The background feed publisher keeps commit order, never blocks on Redis, and flushes on stop."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence

import pytest

from ameide_projector.publishing import QueuedPublisher
from ameide_readmodel.feed.entries import FeedEntry

pytestmark = pytest.mark.unit


def _entries(start: int, count: int) -> list[FeedEntry]:
    at = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    return [FeedEntry("thread:x", "t", b"", at, seq) for seq in range(start, start + count)]


class SlowPublisher:
    """Records what it was given; each call waits until released."""

    def __init__(self) -> None:
        self.published: list[int] = []
        self.release = asyncio.Event()

    async def publish(self, entries: Sequence[FeedEntry]) -> None:
        """Wait for the release, then record."""
        await self.release.wait()
        self.published.extend(e.seq for e in entries)


async def test_publish_returns_at_once_and_keeps_order() -> None:
    """Batches queue while Redis is slow, then go out in commit order; flush waits for them."""
    slow = SlowPublisher()
    queued = QueuedPublisher(slow)
    await queued.publish(_entries(1, 3))
    await queued.publish(_entries(4, 2))
    await queued.publish([])
    assert slow.published == []
    slow.release.set()
    await asyncio.wait_for(queued.flush(), 5)
    assert slow.published == [1, 2, 3, 4, 5]
    await queued.stop()


async def test_back_pressure_and_failures() -> None:
    """Past the queue bound the caller waits; a failing publish does not stop later ones."""

    class Flaky:
        def __init__(self) -> None:
            self.calls = 0
            self.published: list[int] = []

        async def publish(self, entries: Sequence[FeedEntry]) -> None:
            """Fail the first call, record the others."""
            self.calls += 1
            if self.calls == 1:
                raise RuntimeError("redis went away")
            self.published.extend(e.seq for e in entries)

    flaky = Flaky()
    queued = QueuedPublisher(flaky, max_pending=2)
    await queued.publish(_entries(1, 2))
    await asyncio.wait_for(queued.publish(_entries(3, 2)), 5)
    await asyncio.wait_for(queued.flush(), 5)
    assert flaky.published == [3, 4]
    await queued.stop()
