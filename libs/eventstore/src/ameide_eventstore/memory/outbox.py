"""In-memory outbox consumer: batches in outbox order, poison events parked or their shard halted."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence

from ameide_eventstore.consumer import ConsumerMetrics, NullMetrics, OnError, OutboxStats, run_after_commit
from ameide_eventstore.events import RecordedEvent
from ameide_eventstore.memory.store import DeadLetter, InMemoryEventStore, OutboxRow
from ameide_eventstore.ports import BatchHandler


class InMemoryOutboxConsumer:
    """An ``OutboxConsumer`` over an ``InMemoryEventStore``.

    The handler receives ``None`` as its transaction handle; rows leave the outbox only when it returns.

    Args:
        store: The store whose outbox is consumed.
        batch_size: Most events per handler call.
        poll_interval: Idle wait between polls when ``wake`` is not given or does not fire.
        wake: Optional awaitable factory that returns when new events may be there.
        on_error: ``"park"`` poison events, or ``"halt"`` their shard.
        metrics: Where batch sizes, apply latency and parked events are reported.
    """

    def __init__(
        self,
        store: InMemoryEventStore,
        *,
        batch_size: int = 500,
        poll_interval: float = 0.01,
        wake: Callable[[], Awaitable[object]] | None = None,
        on_error: OnError = "park",
        metrics: ConsumerMetrics | None = None,
    ) -> None:
        self._store = store
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._wake = wake
        self._on_error = on_error
        self._metrics = metrics or NullMetrics()
        self.halted_shards: set[int] = set()

    async def run(self, handler: BatchHandler, *, stop: Callable[[], bool]) -> None:
        """Apply batches until ``stop()`` is true."""
        while not stop():
            if await self.run_once(handler) == 0:
                await self._idle()

    async def run_once(self, handler: BatchHandler) -> int:
        """Apply at most one batch; return how many events left the outbox."""
        async with self._store.consume_lock:
            async with self._store.lock:
                rows = [row for row in self._store.outbox if row.shard not in self.halted_shards]
                rows = rows[: self._batch_size]
            if not rows:
                return 0
            events = [self._store.upcast(self._store.event_at(row.global_position)) for row in rows]
            started = time.perf_counter()
            try:
                after_commit = await handler(None, events)
            except Exception:  # noqa: BLE001 - any handler failure sends the batch to one-by-one retry
                return await self._one_by_one(handler, rows, events)
            await self._remove(rows)
            self._metrics.batch_applied(len(rows), time.perf_counter() - started)
        await run_after_commit(after_commit)
        return len(rows)

    async def _one_by_one(
        self, handler: BatchHandler, rows: Sequence[OutboxRow], events: Sequence[RecordedEvent]
    ) -> int:
        done = 0
        for row, event in zip(rows, events, strict=True):
            if row.shard in self.halted_shards:
                continue
            try:
                after_commit = await handler(None, [event])
            except Exception as error:  # noqa: BLE001 - the poison policy decides
                if self._on_error == "halt":
                    self.halted_shards.add(row.shard)
                    self._metrics.shard_halted(row.shard)
                    continue
                self._store.dead_letters.append(
                    DeadLetter(event.global_position, event.stream_id, event.event_type, repr(error), row.shard)
                )
                self._metrics.event_parked(event.event_type, row.shard)
                after_commit = None
            await self._remove([row])
            done += 1
            await run_after_commit(after_commit)
        return done

    async def _remove(self, rows: Sequence[OutboxRow]) -> None:
        ids = {row.id for row in rows}
        async with self._store.lock:
            self._store.outbox[:] = [row for row in self._store.outbox if row.id not in ids]

    async def _idle(self) -> None:
        if self._wake is None:
            await asyncio.sleep(self._poll_interval)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake(), self._poll_interval)

    async def stats(self) -> OutboxStats:
        """Outbox depth, age of the oldest unapplied event and parked events."""
        async with self._store.lock:
            outbox = self._store.outbox
            oldest = 0.0
            if outbox:
                recorded_at = self._store.event_at(outbox[0].global_position).recorded_at
                oldest = max((self._store.now() - recorded_at).total_seconds(), 0.0)
            return OutboxStats(depth=len(outbox), oldest_age_seconds=oldest, dead_letters=len(self._store.dead_letters))
