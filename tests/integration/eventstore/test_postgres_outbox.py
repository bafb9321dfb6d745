import asyncio
import contextlib
import random
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from ameide_eventstore import BatchHandler, ExpectedVersion, RecordedEvent, StreamAppend
from ameide_eventstore.consumer import CountingMetrics, OnError
from ameide_eventstore.postgres import PostgresEventStore, PostgresOutboxConsumer
from ameide_eventstore.testing import MakeConsumer, OutboxConsumerContract, event, wait_until
from ameide_eventstore.testing.consumer_contract import running
from tests.integration.eventstore.eventstore_outbox_worker import apply

pytestmark = pytest.mark.integration


def fast(engine: AsyncEngine, **kwargs: Any) -> PostgresOutboxConsumer:
    """A consumer that polls and rebalances quickly (tests wait for conditions, so speed only saves time)."""
    return PostgresOutboxConsumer(
        engine, poll_interval=0.005, max_poll_interval=0.05, rebalance_interval=0.05, **kwargs
    )


@pytest.fixture(name="store")
def fixture_store(clean_outbox: AsyncEngine) -> PostgresEventStore:
    """A store on the private outbox database."""
    return PostgresEventStore(clean_outbox)


@contextlib.asynccontextmanager
async def engines(url: str, count: int) -> AsyncIterator[list[AsyncEngine]]:
    """Separate engines, as separate worker processes would have."""
    made = [create_async_engine(url, pool_size=2, max_overflow=2) for _ in range(count)]
    try:
        yield made
    finally:
        for engine in made:
            await engine.dispose()


async def applied_rows(engine: AsyncEngine) -> list[tuple[uuid.UUID, uuid.UUID, int]]:
    """(event_id, stream_id, version) of every applied event."""
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT event_id, stream_id, version FROM es_test_applied"))
        return [(row.event_id, row.stream_id, row.version) for row in rows]


class TestPostgresOutboxConsumer(OutboxConsumerContract):
    """The Postgres consumer passes the shared contract."""

    @pytest.fixture(name="make_consumer")
    def fixture_make_consumer(self, clean_outbox: AsyncEngine) -> MakeConsumer:
        """Consumers on the private outbox database."""

        def make(on_error: OnError) -> PostgresOutboxConsumer:
            return fast(clean_outbox, on_error=on_error)

        return make


class TestRebalancing:
    async def test_workers_share_the_shards_and_take_over_when_one_leaves(self, outbox_database_url: str) -> None:
        """Three workers converge to disjoint shares of all 64 shards; when one stops the other two take its share."""
        async with engines(outbox_database_url, 3) as made:
            consumers = [fast(e, worker_id=f"w{i}") for i, e in enumerate(made)]

            async def noop(_conn: AsyncConnection, _events: Sequence[RecordedEvent]) -> None:
                return None

            def balanced(group: list[PostgresOutboxConsumer], share: int) -> bool:
                owned = [c.owned_shards for c in group]
                union = frozenset().union(*owned)
                return len(union) == 64 == sum(map(len, owned)) and all(len(o) <= share for o in owned)

            async with running(consumers[0], noop), running(consumers[1], noop):
                async with running(consumers[2], noop):
                    await wait_until(lambda: balanced(consumers, 22))
                await wait_until(lambda: balanced(consumers[:2], 32))
            assert [frozenset(), frozenset()] == [c.owned_shards for c in consumers[:2]]


class TestExactlyOnceUnderLoad:
    async def test_slow_writers_rollbacks_and_three_workers(
        self, outbox_database_url: str, store: PostgresEventStore
    ) -> None:
        """Slow writers (10 % roll back) and 3 workers: every committed event applied once, in stream order."""
        streams = [uuid.uuid4() for _ in range(12)]
        rng = random.Random(4)  # noqa: S311 - test data, not security
        committed: set[uuid.UUID] = set()
        rolled_back: set[uuid.UUID] = set()

        class RollbackRequestedError(Exception):
            pass

        async def slow_commit() -> None:
            await asyncio.sleep(rng.random() * 0.02)
            if rng.random() < 0.1:
                raise RollbackRequestedError

        writer = PostgresEventStore(store._engine, before_commit=slow_commit)

        async def write(n: int) -> None:
            for _ in range(n):
                picked = rng.sample(streams, rng.choice([1, 1, 2]))
                appends = [
                    StreamAppend(sid, "chat", "t", ExpectedVersion.ANY, [event() for _ in range(rng.randint(1, 3))])
                    for sid in picked
                ]
                ids = {e.event_id for a in appends for e in a.events}
                try:
                    await writer.append(appends)
                except RollbackRequestedError:
                    rolled_back.update(ids)
                else:
                    committed.update(ids)

        metrics = CountingMetrics()
        async with engines(outbox_database_url, 3) as made:
            consumers = [fast(e, worker_id=f"w{i}", batch_size=7, metrics=metrics) for i, e in enumerate(made)]
            handlers = [_handler(f"w{i}") for i in range(3)]
            async with (
                running(consumers[0], handlers[0]),
                running(consumers[1], handlers[1]),
                running(consumers[2], handlers[2]),
            ):
                await asyncio.gather(*(write(25) for _ in range(8)))
                await wait_until(lambda: metrics.events >= len(committed))
            stats = await consumers[0].stats()
        rows = await applied_rows(store._engine)
        assert rolled_back
        assert committed == {row[0] for row in rows}
        assert len(committed) == len(rows)
        assert not rolled_back & {row[0] for row in rows}
        assert (0, 0) == (stats.depth, stats.dead_letters)
        heads = await store.load_states(streams)
        for sid in streams:
            applied_versions = sorted(v for _, s, v in rows if s == sid)
            assert list(range(1, heads[sid].version + 1)) == applied_versions if sid in heads else not applied_versions


def _handler(worker: str) -> BatchHandler:
    async def handler(conn: AsyncConnection, events: Sequence[RecordedEvent]) -> None:
        await apply(conn, events, worker)

    return handler


class TestAdaptiveBatches:
    ALL = frozenset(range(64))

    async def _seed(self, store: PostgresEventStore, count: int, payload: bytes = b"p") -> None:
        stream_id = uuid.uuid4()
        events = [event(payload=payload) for _ in range(count)]
        await store.append([StreamAppend(stream_id, "chat", "t", ExpectedVersion.NO_STREAM, events)])

    async def test_full_batches_double_the_limit_up_to_the_maximum_then_it_resets(
        self, clean_outbox: AsyncEngine, store: PostgresEventStore
    ) -> None:
        """A backlog drains in growing batches (5, 10, 20, 20); a batch that is not full resets the limit."""
        await self._seed(store, 60)
        metrics = CountingMetrics()
        consumer = PostgresOutboxConsumer(clean_outbox, batch_size=5, max_batch_size=20, metrics=metrics)
        handler = _handler("w")
        while await consumer.run_once(handler, self.ALL):
            pass
        await self._seed(store, 12)
        while await consumer.run_once(handler, self.ALL):
            pass
        assert metrics.batch_sizes == [5, 10, 20, 20, 5, 5, 7]
        assert len(await applied_rows(clean_outbox)) == 72

    async def test_batches_end_at_the_byte_budget_and_do_not_grow(
        self, clean_outbox: AsyncEngine, store: PostgresEventStore
    ) -> None:
        """A batch ends once its payloads reach the byte budget (bounded memory), and the next does not grow."""
        await self._seed(store, 12, payload=b"x" * 100)
        metrics = CountingMetrics()
        consumer = PostgresOutboxConsumer(
            clean_outbox, batch_size=4, max_batch_size=16, max_batch_bytes=300, metrics=metrics
        )
        handler = _handler("w")
        while await consumer.run_once(handler, self.ALL):
            pass
        assert metrics.batch_sizes == [3, 3, 3, 3]
        assert len(await applied_rows(clean_outbox)) == 12

    async def test_an_event_larger_than_the_budget_comes_alone(
        self, clean_outbox: AsyncEngine, store: PostgresEventStore
    ) -> None:
        """The first event of a batch always comes, however large: the budget never stalls the outbox."""
        await self._seed(store, 3, payload=b"x" * 1000)
        await self._seed(store, 2)
        metrics = CountingMetrics()
        consumer = PostgresOutboxConsumer(clean_outbox, batch_size=10, max_batch_bytes=300, metrics=metrics)
        handler = _handler("w")
        while await consumer.run_once(handler, self.ALL):
            pass
        assert metrics.batch_sizes == [1, 1, 1, 2]
        assert len(await applied_rows(clean_outbox)) == 5


class TestClaimedEvents:
    async def test_claimed_events_equal_the_stored_ones_metadata_included(
        self, clean_outbox: AsyncEngine, store: PostgresEventStore
    ) -> None:
        """The claim's binary rows give the handler the events read_stream returns (non-ASCII metadata too)."""
        stream_id = uuid.uuid4()
        note = 'quote " and \\ and 漢字 and \U0001f600'
        metadata = {"user_id": "zoë", "tenant_id": "t", "note": note}
        events = [event(user_id="zoë", tenant_id="t", note=note), event(payload=b"\x00\xff")]
        await store.append([StreamAppend(stream_id, "chat", "t", ExpectedVersion.NO_STREAM, events)])
        seen: list[RecordedEvent] = []

        async def handler(_conn: AsyncConnection, events: Sequence[RecordedEvent]) -> None:
            seen.extend(events)

        consumer = PostgresOutboxConsumer(clean_outbox)
        assert await consumer.run_once(handler, frozenset(range(64))) == 2
        assert seen == await store.read_stream(stream_id)
        assert seen[0].metadata == metadata
