"""A projection that proves exactly-once and per-stream order, and a worker process that can be killed mid-batch.

Run as ``python -m tests.integration.eventstore.eventstore_outbox_worker <database-url> <marker-file>``: the
worker applies batches and, on its first batch, writes the marker file and sleeps INSIDE the batch transaction
(so the test can SIGKILL it there).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from ameide_eventstore.events import RecordedEvent
from ameide_eventstore.postgres import PostgresOutboxConsumer

# es_test_applied.event_id is the primary key: a second application of any event fails its transaction.
# es_test_heads moves one version at a time: an out-of-order application fails its transaction.
APPLIED_DDL = (
    (
        "CREATE TABLE IF NOT EXISTS es_test_applied (event_id uuid PRIMARY KEY, stream_id uuid NOT NULL,"
        " version bigint NOT NULL, worker text NOT NULL)"
    ),
    "CREATE TABLE IF NOT EXISTS es_test_heads (stream_id uuid PRIMARY KEY, version bigint NOT NULL)",
)
_APPLY = text("INSERT INTO es_test_applied (event_id, stream_id, version, worker) VALUES (:e, :s, :v, :w)")
_FIRST = text("INSERT INTO es_test_heads (stream_id, version) VALUES (:s, 1) RETURNING version")
_NEXT = text("UPDATE es_test_heads SET version = :v WHERE stream_id = :s AND version = :v - 1 RETURNING version")


class OrderViolationError(Exception):
    """An event was applied before its predecessor in the stream."""


async def apply(conn: AsyncConnection, events: Sequence[RecordedEvent], worker: str) -> None:
    """Apply events in the consumer's transaction, enforcing exactly-once and per-stream order in SQL."""
    for event in events:
        params = {"e": event.event_id, "s": event.stream_id, "v": event.version, "w": worker}
        await conn.execute(_APPLY, params)
        moved = (await conn.execute(_FIRST if event.version == 1 else _NEXT, params)).first()
        if moved is None:
            raise OrderViolationError(f"{event.stream_id} v{event.version} applied out of order")


async def _main(database_url: str, marker: Path) -> None:
    engine = create_async_engine(database_url)
    consumer = PostgresOutboxConsumer(engine, worker_id="doomed", poll_interval=0.01, rebalance_interval=0.05)

    async def handler(conn: AsyncConnection, events: Sequence[RecordedEvent]) -> None:
        await apply(conn, events, "doomed")
        if not marker.exists():  # noqa: ASYNC240 - once, before the worker parks itself
            ids = ",".join(str(e.event_id) for e in events)
            marker.write_text(ids)  # noqa: ASYNC240 - same
            await asyncio.sleep(3600)  # killed here, with the batch deleted but not committed

    async def report() -> None:
        while True:
            print(f"owned {len(consumer.owned_shards)}", flush=True)  # noqa: T201 - the test reads stdout
            await asyncio.sleep(0.05)

    reporter = asyncio.create_task(report())
    await consumer.run(handler, stop=lambda: False)
    reporter.cancel()


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1], Path(sys.argv[2])))
