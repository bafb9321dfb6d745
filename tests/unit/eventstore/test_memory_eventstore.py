import asyncio
import uuid

import pytest

from ameide_eventstore import ConcurrencyError, EventStore, ExpectedVersion, StreamAppend
from ameide_eventstore.consumer import CountingMetrics, OnError
from ameide_eventstore.memory import InMemoryEventStore, InMemoryOutboxConsumer
from ameide_eventstore.testing import (
    CONTRACT_UPCASTERS,
    TENANT,
    EventStoreContract,
    MakeConsumer,
    OutboxConsumerContract,
    event,
    idem,
    stream,
)
from ameide_eventstore.upcasting import Upcasters

pytestmark = pytest.mark.unit


@pytest.fixture(name="store")
def fixture_store() -> InMemoryEventStore:
    """A fresh in-memory store with the contract's upcasters."""
    return InMemoryEventStore(upcasters=CONTRACT_UPCASTERS)


class TestInMemoryEventStore(EventStoreContract):
    """The in-memory store passes the shared contract."""


class TestInMemoryOutboxConsumer(OutboxConsumerContract):
    """The in-memory consumer passes the shared contract."""

    @pytest.fixture(name="make_consumer")
    def fixture_make_consumer(self, store: InMemoryEventStore) -> MakeConsumer:
        """Consumers of the test's store."""

        def make(on_error: OnError) -> InMemoryOutboxConsumer:
            return InMemoryOutboxConsumer(store, on_error=on_error, poll_interval=0.001)

        return make


class TestInMemoryConcurrency:
    async def test_racing_writers_one_wins(self, store: EventStore) -> None:
        """Concurrent appends with the same expected version: one wins, the others conflict."""
        sid = uuid.uuid4()
        await store.append([stream(sid, 0)])
        results = await asyncio.gather(*(store.append([stream(sid, 1)]) for _ in range(10)), return_exceptions=True)
        assert 1 == sum(not isinstance(r, Exception) for r in results)
        assert all(isinstance(r, ConcurrencyError) for r in results if isinstance(r, Exception))

    async def test_concurrent_duplicates_get_one_response(self, store: EventStore) -> None:
        """Concurrent calls with one key: one effect, identical responses."""
        sid, key = uuid.uuid4(), uuid.uuid4().hex
        results = await asyncio.gather(
            *(store.append([stream(sid, ExpectedVersion.ANY)], idempotency=idem(key)) for _ in range(10))
        )
        assert {b"r1"} == {r.response for r in results}
        assert 1 == (await store.load_states([sid]))[sid].version


class TestValidation:
    @pytest.mark.parametrize(
        "appends",
        [
            [],
            [StreamAppend(uuid.uuid4(), "chat", TENANT, 0, [])],
            [StreamAppend(uuid.uuid4(), "chat", TENANT, -3, [event()])],
        ],
    )
    async def test_malformed_appends_are_rejected(self, store: EventStore, appends: list[StreamAppend]) -> None:
        """Empty appends, empty streams and impossible expected versions are programming errors."""
        with pytest.raises(ValueError):
            await store.append(appends)

    async def test_a_stream_appears_once_and_event_ids_are_unique(self, store: EventStore) -> None:
        """The same stream twice, or one event id twice, in one append is rejected."""
        sid = uuid.uuid4()
        with pytest.raises(ValueError, match="once"):
            await store.append([stream(sid, 0), stream(sid, 0)])
        same = event()
        with pytest.raises(ValueError, match="unique"):
            await store.append([StreamAppend(sid, "chat", TENANT, 0, [same, same])])


class TestUpcasters:
    def test_chain_and_unknown_types(self) -> None:
        """A registry applies a chain and leaves unknown types alone."""
        assert (b"v3:x", 3) == CONTRACT_UPCASTERS.upcast("contract.Renamed", 1, b"x")
        assert (b"x", 1) == CONTRACT_UPCASTERS.upcast("other.Type", 1, b"x")

    def test_an_upcaster_must_raise_the_version(self) -> None:
        """An upcaster that does not raise the version would loop: it is rejected."""
        registry = Upcasters()
        registry.register("t.E", 1, lambda payload: (payload, 1))
        with pytest.raises(ValueError, match="did not raise"):
            registry.upcast("t.E", 1, b"")


class TestMemoryConsumerMetrics:
    async def test_batches_are_reported(self, store: InMemoryEventStore) -> None:
        """Batch sizes and apply latency reach the metrics sink; stats show the drained outbox."""
        metrics = CountingMetrics()
        consumer = InMemoryOutboxConsumer(store, metrics=metrics, batch_size=4)
        await store.append([stream(uuid.uuid4(), 0, 10)])

        async def handler(_tx: object, _events: object) -> None:
            return None

        while await consumer.run_once(handler):
            pass
        assert (3, 10, [4, 4, 2]) == (metrics.batches, metrics.events, metrics.batch_sizes)
        assert 0 == (await consumer.stats()).depth
