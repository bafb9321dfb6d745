"""Outbox consumption for the projector: exactly-once, per-stream ordered, sharded across workers.

A batch is claimed (deleted) from the worker's shards and handed to the handler in the SAME transaction, so the
read-model writes and the outbox delete commit together or not at all. Shards are owned through advisory locks
(``ownership``). A batch whose handler fails is retried event by event; the failing event is parked in
``es_dead_letters`` (``on_error="park"``) or its shard halts (``"halt"``), and every other shard goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import psycopg
from psycopg.abc import Buffer
from psycopg.adapt import Loader
from psycopg.pq import Format
from psycopg.rows import namedtuple_row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ameide_eventstore.consumer import ConsumerMetrics, NullMetrics, OnError, OutboxStats, run_after_commit
from ameide_eventstore.errors import TransientStoreError
from ameide_eventstore.events import RecordedEvent
from ameide_eventstore.ports import BatchHandler
from ameide_eventstore.postgres import statements as sql
from ameide_eventstore.postgres.ownership import ShardOwnership
from ameide_eventstore.postgres.store import recorded_event
from ameide_eventstore.postgres.translate import is_transient, transient_errors
from ameide_eventstore.sharding import DEFAULT_SHARD_COUNT
from ameide_eventstore.upcasting import Upcaster, Upcasters, as_upcasters
from ameide_pg.statements import compiled
from ameide_pg.urls import libpq_url

logger = logging.getLogger(__name__)

Wake = Callable[[], Awaitable[object]]


# The batch claim runs on the transaction's psycopg connection, results in binary format, rows as named tuples:
# SQLAlchemy's result rows, and text-format parsing of the uuids and the payload's hex, cost about 9 us of the
# ~25 us per event it took to turn a claimed row into a RecordedEvent (2,000-event batches).
_CLAIM_BATCH = compiled(sql.CLAIM_BATCH)


_json_decode = json.JSONDecoder().decode
_JSONB_VERSION = 1


class _JsonbBinaryLoader(Loader):
    """Event metadata (jsonb, binary): the same dict as psycopg's loader, for ~40 % of its CPU.

    psycopg hands the bytes to ``json.loads``, which first sniffs their encoding (UTF-8 is the only one jsonb
    has) in Python; decoding to str and calling the decoder directly skips that, once per claimed event.
    """

    format = Format.BINARY

    def load(self, data: Buffer) -> Any:  # noqa: ANN401 - any JSON value
        view = memoryview(data)
        if view[0] != _JSONB_VERSION:
            raise psycopg.DataError(f"unknown jsonb binary format: {view[0]}")
        return _json_decode(str(view[1:], "utf-8"))


async def _claim(conn: AsyncConnection, shards: list[int], limit: int, max_bytes: int) -> list[Any]:
    await conn.begin()  # the handler's statements and the commit belong to this transaction
    raw = (await conn.get_raw_connection()).driver_connection
    if raw is None:
        raise RuntimeError("the batch connection has no psycopg connection")
    raw.adapters.register_loader("jsonb", _JsonbBinaryLoader)
    async with raw.cursor(row_factory=namedtuple_row, binary=True) as cursor:
        await cursor.execute(_CLAIM_BATCH, {"shards": shards, "limit": limit, "max_bytes": max_bytes})
        rows: list[Any] = await cursor.fetchall()
    return rows


class PostgresOutboxConsumer:
    """The production ``OutboxConsumer``.

    Args:
        engine: Engine for batch transactions (the handler gets one of its connections).
        shard_count: Number of virtual shards; must equal the store's.
        batch_size: Events per handler call while the outbox keeps up.
        max_batch_size: Most events per handler call while a backlog drains (default ``4 * batch_size``): each
            full batch doubles the next one's limit up to this, as long as its payloads stayed under
            ``max_batch_bytes``; a batch that is not full (or too large, or failed) resets it to ``batch_size``.
        max_batch_bytes: Payload bytes after which a batch ends (its first event always comes), so a worker's
            memory stays bounded however large the messages; a batch that reached it does not grow the next.
        poll_interval: Wait after the first empty poll; doubled per empty poll up to ``max_poll_interval``.
        max_poll_interval: Longest idle wait.
        rebalance_interval: How often ownership is re-balanced against the live workers.
        wake: Optional awaitable factory (e.g. a Redis hint) that ends an idle wait early.
        on_error: ``"park"`` poison events, or ``"halt"`` their shard.
        worker_id: Name used in logs.
        metrics: Sink for batch sizes, apply latency, parked events and ownership.
        upcasters: Upcasters applied to events before the handler sees them.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        shard_count: int = DEFAULT_SHARD_COUNT,
        batch_size: int = 500,
        max_batch_size: int | None = None,
        max_batch_bytes: int = 8 * 1024 * 1024,
        poll_interval: float = 0.2,
        max_poll_interval: float = 1.0,
        rebalance_interval: float = 1.0,
        wake: Wake | None = None,
        on_error: OnError = "park",
        worker_id: str | None = None,
        metrics: ConsumerMetrics | None = None,
        upcasters: Upcasters | Mapping[tuple[str, int], Upcaster] | None = None,
    ) -> None:
        self._engine = engine
        self._shard_count = shard_count
        self._batch_size = batch_size
        self._max_batch_size = max(batch_size, max_batch_size or 4 * batch_size)
        self._max_batch_bytes = max_batch_bytes
        # The current limit: grows while batches come back full (a backlog), so the per-batch costs (round trips,
        # the commit's WAL flush, each touched chat's and feed's row rewritten once per batch) spread over more
        # events exactly when throughput matters; small again as soon as the outbox keeps up (short transactions,
        # low latency).
        self._limit = batch_size
        self._poll_interval = poll_interval
        self._max_poll_interval = max_poll_interval
        self._rebalance_interval = rebalance_interval
        self._wake = wake
        self._on_error = on_error
        self.worker_id = worker_id or uuid.uuid4().hex[:12]
        self._metrics = metrics or NullMetrics()
        self._upcasters = as_upcasters(upcasters)
        self.halted_shards: set[int] = set()
        self.owned_shards: frozenset[int] = frozenset()

    async def run(self, handler: BatchHandler, *, stop: Callable[[], bool]) -> None:
        """Own shards and apply batches until ``stop()`` is true; closing the lock connection frees the shards."""
        ownership = ShardOwnership(libpq_url(self._engine.url), shard_count=self._shard_count, stop=stop)
        interval, balanced_at = self._poll_interval, -self._rebalance_interval
        try:
            while not stop():
                if time.monotonic() - balanced_at >= self._rebalance_interval:
                    await self._rebalance(ownership)
                    balanced_at = time.monotonic()
                shards = self.owned_shards - self.halted_shards
                applied = await self._guarded(self.run_once(handler, shards)) if shards else 0
                if applied:
                    interval = self._poll_interval  # work begets work: poll again at once
                    continue
                await self._idle(interval, stop)
                interval = min(interval * 2, self._max_poll_interval)
        finally:
            await ownership.close()
            self.owned_shards = frozenset()

    async def _rebalance(self, ownership: ShardOwnership) -> None:
        owned = await ownership.rebalance()
        if owned != self.owned_shards:
            logger.info("worker %s owns %d shards (%d workers)", self.worker_id, len(owned), ownership.members)
            self._metrics.shards_owned(len(owned))
        self.owned_shards = owned

    async def _guarded(self, batch: Awaitable[int]) -> int:
        # A transient failure (database restart, failover) must not kill the worker: back off and poll again.
        try:
            return await batch
        except TransientStoreError:
            logger.warning("worker %s: transient database error, backing off", self.worker_id, exc_info=True)
            return 0

    async def run_once(self, handler: BatchHandler, shards: frozenset[int]) -> int:
        """Apply one batch from ``shards``; return how many events left the outbox."""
        started = time.perf_counter()
        with transient_errors():
            async with self._engine.connect() as conn:
                limit = self._limit
                rows = await _claim(conn, sorted(shards), limit, self._max_batch_bytes)
                if not rows:
                    self._limit = self._batch_size
                    return 0
                try:
                    events = [self._event(row) for row in rows]
                    after_commit = await handler(conn, events)
                    await conn.commit()
                except Exception as error:
                    self._limit = self._batch_size
                    if is_transient(error) or isinstance(error, TransientStoreError):
                        raise
                    await conn.rollback()
                    return await self._one_by_one(handler, rows)
        self._limit = self._next_limit(limit, events)
        self._metrics.batch_applied(len(rows), time.perf_counter() - started)
        await run_after_commit(after_commit)
        return len(rows)

    def _next_limit(self, limit: int, events: Sequence[RecordedEvent]) -> int:
        if len(events) < limit or sum(len(e.payload) for e in events) > self._max_batch_bytes:
            return self._batch_size
        return min(limit * 2, self._max_batch_size)

    async def _one_by_one(self, handler: BatchHandler, rows: Sequence[Any]) -> int:
        """Find the poison event(s): each event in its own transaction, in the batch's order."""
        done = 0
        for row in rows:
            if row.shard in self.halted_shards:
                continue  # a halted shard keeps its order: nothing after the poison event runs
            async with self._engine.connect() as conn:
                claimed = (await conn.execute(sql.CLAIM_ONE, {"outbox_id": row.outbox_id})).first()
                if claimed is None:
                    continue  # applied meanwhile by a worker that overlapped on this shard
                try:
                    after_commit = await handler(conn, [self._event(claimed)])
                    await conn.commit()
                except Exception as error:
                    if is_transient(error) or isinstance(error, TransientStoreError):
                        raise
                    await conn.rollback()
                    await self._poison(row, error)
                    continue
            done += 1
            await run_after_commit(after_commit)
        return done

    async def _poison(self, row: Any, error: Exception) -> None:  # noqa: ANN401 - a claimed row (named tuple)
        logger.error("worker %s: event %s failed: %r", self.worker_id, row.global_position, error)
        if self._on_error == "halt":
            self.halted_shards.add(row.shard)
            self._metrics.shard_halted(row.shard)
            return
        params = {"outbox_id": row.outbox_id, "event_type": row.event_type, "error": repr(error)[:4000]}
        async with self._engine.begin() as conn:
            await conn.execute(sql.PARK, params)
        self._metrics.event_parked(row.event_type, row.shard)

    def _event(self, row: Any) -> RecordedEvent:  # noqa: ANN401 - a claimed row (named tuple or SQLAlchemy Row)
        return recorded_event(row, self._upcasters)

    async def _idle(self, interval: float, stop: Callable[[], bool]) -> None:
        if stop():
            return
        if self._wake is None:
            await asyncio.sleep(interval)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake(), interval)

    async def stats(self) -> OutboxStats:
        """Outbox depth, age of the oldest unapplied row and parked events (cheap: index lookups + counts)."""
        with transient_errors():
            async with self._engine.connect() as conn:
                row = (await conn.execute(sql.OUTBOX_STATS)).one()
        return OutboxStats(
            depth=int(row.depth), oldest_age_seconds=float(row.oldest), dead_letters=int(row.dead_letters)
        )
