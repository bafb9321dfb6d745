"""The outbox-consumer contract: exactly once, per-stream order, after-commit callbacks, poison policy."""

# ruff: noqa: S101, PLR2004  # a pytest suite: asserts state expectations, literals are the expected values

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, Protocol

from ameide_eventstore.consumer import OnError, OutboxStats
from ameide_eventstore.events import RecordedEvent, StreamAppend
from ameide_eventstore.ports import AfterCommit, BatchHandler, EventStore
from ameide_eventstore.sharding import shard_of
from ameide_eventstore.testing.store_contract import TENANT, event, stream


class Consumer(Protocol):
    """What the contract needs from a consumer."""

    async def run(self, handler: BatchHandler, *, stop: Callable[[], bool]) -> None:
        """Consume until stop() is true."""

    async def stats(self) -> OutboxStats:
        """Outbox backlog."""


MakeConsumer = Callable[[OnError], Consumer]


async def wait_until(condition: Callable[[], bool], *, attempts: int = 3000, step: float = 0.01) -> None:
    """Poll ``condition`` (bounded: a failing test fails instead of hanging, and no sleep decides the result)."""
    for _ in range(attempts):
        if condition():
            return
        await asyncio.sleep(step)
    raise AssertionError("condition not reached")


@contextlib.asynccontextmanager
async def running(consumer: Consumer, handler: BatchHandler) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``consumer`` in a task for the duration of the block, then stop it and wait for it."""
    stopped = False
    task = asyncio.create_task(consumer.run(handler, stop=lambda: stopped))
    try:
        yield task
    finally:
        stopped = True
        await task


class Recorder:
    """A handler that records the events of the streams it watches (others, from other tests, pass through)."""

    def __init__(self, watched: set[uuid.UUID], poison: set[uuid.UUID] | None = None) -> None:
        self.watched = watched
        self.poison = poison or set()
        self.applied: list[RecordedEvent] = []
        self.committed: list[uuid.UUID] = []

    async def __call__(self, _tx: Any, events: Sequence[RecordedEvent]) -> AfterCommit | None:  # noqa: ANN401
        """Fail on a poison event; otherwise record and return an after-commit callback."""
        mine = [e for e in events if e.stream_id in self.watched]
        if any(e.event_id in self.poison for e in mine):
            raise ValueError("poison event")
        self.applied.extend(mine)

        async def after_commit() -> None:
            self.committed.extend(e.event_id for e in mine)

        return after_commit

    def versions(self, stream_id: uuid.UUID) -> list[int]:
        """Versions applied for one stream, in application order."""
        return [e.version for e in self.applied if e.stream_id == stream_id]


def other_shard_pair() -> tuple[uuid.UUID, uuid.UUID]:
    """Two stream ids on different shards (of the default shard count)."""
    first = uuid.uuid4()
    while True:
        second = uuid.uuid4()
        if shard_of(second) != shard_of(first):
            return first, second


class OutboxConsumerContract:
    """Behaviour every ``OutboxConsumer`` shares (fixtures: ``store``, ``make_consumer``)."""

    async def test_each_event_once_in_stream_order(self, store: EventStore, make_consumer: MakeConsumer) -> None:
        """Every appended event is applied once, per-stream in version order, then after-commit runs."""
        streams = [uuid.uuid4() for _ in range(5)]
        for sid in streams:
            await store.append([stream(sid, 0, 3)])
        for sid in streams:
            await store.append([stream(sid, 3, 2)])
        recorder = Recorder(set(streams))
        async with running(make_consumer("park"), recorder):
            await wait_until(lambda: len(recorder.committed) >= 25)
        assert 25 == len({e.event_id for e in recorder.applied}) == len(recorder.applied)
        for sid in streams:
            assert recorder.versions(sid) == [1, 2, 3, 4, 5]
        assert sorted(recorder.committed) == sorted(e.event_id for e in recorder.applied)

    async def test_poison_event_is_parked(self, store: EventStore, make_consumer: MakeConsumer) -> None:
        """A failing event is parked; the events around it are applied."""
        sid, other = uuid.uuid4(), uuid.uuid4()
        bad = event()
        await store.append([stream(sid, 0, 2)])
        await store.append([StreamAppend(sid, "chat", TENANT, 2, [bad, event()])])
        await store.append([stream(other, 0, 2)])
        recorder = Recorder({sid, other}, poison={bad.event_id})
        consumer = make_consumer("park")
        before = (await consumer.stats()).dead_letters
        async with running(consumer, recorder):
            await wait_until(lambda: len(recorder.committed) >= 5)
        assert recorder.versions(sid) == [1, 2, 4]
        assert recorder.versions(other) == [1, 2]
        assert before + 1 == (await consumer.stats()).dead_letters

    async def test_halt_stops_only_the_poisoned_shard(self, store: EventStore, make_consumer: MakeConsumer) -> None:
        """With on_error="halt" nothing after the poison event of its shard is applied; other shards go on."""
        sid, other = other_shard_pair()
        bad = event()
        await store.append([stream(sid, 0)])
        await store.append([StreamAppend(sid, "chat", TENANT, 1, [bad])])
        await store.append([stream(sid, 2, 2), stream(other, 0, 2)])
        recorder = Recorder({sid, other}, poison={bad.event_id})
        consumer = make_consumer("halt")
        async with running(consumer, recorder):
            await wait_until(lambda: len(recorder.versions(other)) >= 2 and len(recorder.versions(sid)) >= 1)
        assert recorder.versions(sid) == [1]
        assert recorder.versions(other) == [1, 2]
        # A consumer without the poison applies the rest, in order.
        recorder.poison.clear()
        async with running(make_consumer("halt"), recorder):
            await wait_until(lambda: len(recorder.versions(sid)) >= 4)
        assert recorder.versions(sid) == [1, 2, 3, 4]

    async def test_stats_report_the_backlog(self, store: EventStore, make_consumer: MakeConsumer) -> None:
        """stats() counts unapplied events and reports the oldest one's age."""
        consumer = make_consumer("park")
        await store.append([stream(uuid.uuid4(), 0, 3)])
        stats = await consumer.stats()
        assert stats.depth >= 3
        assert stats.oldest_age_seconds >= 0

    async def test_failing_after_commit_does_not_stop_the_consumer(
        self, store: EventStore, make_consumer: MakeConsumer
    ) -> None:
        """An after-commit callback that raises is logged; the batch stays applied and consumption goes on."""
        first, second = uuid.uuid4(), uuid.uuid4()
        applied: list[uuid.UUID] = []

        async def handler(_tx: Any, events: Sequence[RecordedEvent]) -> AfterCommit:  # noqa: ANN401
            applied.extend(e.stream_id for e in events if e.stream_id in {first, second})

            async def boom() -> None:
                raise ConnectionError("redis is down")

            return boom

        await store.append([stream(first, 0)])
        async with running(make_consumer("park"), handler):
            await wait_until(lambda: first in applied)
            await store.append([stream(second, 0)])
            await wait_until(lambda: second in applied)
        assert [first, second] == applied
