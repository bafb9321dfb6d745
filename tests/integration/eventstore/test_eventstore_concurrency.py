import asyncio
import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ameide_eventstore import ConcurrencyError, ExpectedVersion
from ameide_eventstore.postgres import PostgresEventStore
from ameide_eventstore.testing import idem, stream

pytestmark = pytest.mark.integration


@pytest.fixture(name="store")
def fixture_store(engine: AsyncEngine) -> PostgresEventStore:
    """A store on the run's shared database (tests isolate by random stream ids)."""
    return PostgresEventStore(engine)


class TestRacingWriters:
    async def test_32_writers_same_expected_version(self, store: PostgresEventStore) -> None:
        """32 concurrent appends expecting the same version: one wins, 31 conflict, the stream has no holes."""
        sid = uuid.uuid4()
        await store.append([stream(sid, 0, 2)])
        results = await asyncio.gather(*(store.append([stream(sid, 2, 3)]) for _ in range(32)), return_exceptions=True)
        winners = [r for r in results if not isinstance(r, BaseException)]
        losers = [r for r in results if isinstance(r, BaseException)]
        assert 1 == len(winners)
        assert all(isinstance(r, ConcurrencyError) and (r.expected, r.actual) == (2, 5) for r in losers)
        assert list(range(1, 6)) == [e.version for e in await store.read_stream(sid)]
        assert 5 == (await store.load_states([sid]))[sid].version

    async def test_commutative_writers_never_conflict(self, store: PostgresEventStore) -> None:
        """20 concurrent commutative appends decided at one version all land, one after another, without holes."""
        sid = uuid.uuid4()
        await store.append([stream(sid, 0)])
        results = await asyncio.gather(*(store.append([stream(sid, 1, commutative=True)]) for _ in range(20)))
        assert list(range(2, 22)) == sorted(r.versions[sid] for r in results)
        assert list(range(1, 22)) == [e.version for e in await store.read_stream(sid)]

    async def test_32_creators_of_one_stream(self, store: PostgresEventStore) -> None:
        """32 concurrent creations of one stream: one wins, the rest conflict with actual = its length."""
        sid = uuid.uuid4()
        results = await asyncio.gather(*(store.append([stream(sid, 0, 2)]) for _ in range(32)), return_exceptions=True)
        losers = [r for r in results if isinstance(r, BaseException)]
        assert 31 == len(losers)
        assert all(isinstance(r, ConcurrencyError) and r.actual == 2 for r in losers)
        assert [1, 2] == [e.version for e in await store.read_stream(sid)]

    async def test_opposite_pairs_never_deadlock(self, store: PostgresEventStore) -> None:
        """Commands touching {A, B} and {B, A} concurrently all succeed (ANY) without a deadlock."""
        a, b = uuid.uuid4(), uuid.uuid4()
        pairs = [[stream(a, ExpectedVersion.ANY), stream(b, ExpectedVersion.ANY)] for _ in range(20)]
        pairs += [[stream(b, ExpectedVersion.ANY), stream(a, ExpectedVersion.ANY)] for _ in range(20)]
        await asyncio.gather(*(store.append(pair) for pair in pairs))
        states = await store.load_states([a, b])
        assert (40, 40) == (states[a].version, states[b].version)

    async def test_opposite_pairs_with_exact_versions_conflict_cleanly(self, store: PostgresEventStore) -> None:
        """With exact versions, racing {A, B} / {B, A} commands either win or get ConcurrencyError, atomically."""
        a, b = uuid.uuid4(), uuid.uuid4()
        await store.append([stream(a, 0), stream(b, 0)])
        for _ in range(5):
            states = await store.load_states([a, b])
            va, vb = states[a].version, states[b].version
            results = await asyncio.gather(
                *(store.append([stream(a, va), stream(b, vb)][:: 1 if i % 2 else -1]) for i in range(16)),
                return_exceptions=True,
            )
            assert 1 == sum(not isinstance(r, BaseException) for r in results)
            assert all(isinstance(r, ConcurrencyError) for r in results if isinstance(r, BaseException))
        states = await store.load_states([a, b])
        assert (6, 6) == (states[a].version, states[b].version)


class TestConcurrentIdempotency:
    async def test_50_calls_one_key(self, store: PostgresEventStore) -> None:
        """50 concurrent calls with one key: one effect and 50 identical responses."""
        sid, key = uuid.uuid4(), uuid.uuid4().hex
        response = uuid.uuid4().bytes
        results = await asyncio.gather(
            *(
                store.append([stream(sid, ExpectedVersion.ANY)], idempotency=idem(key, response=response))
                for _ in range(50)
            )
        )
        assert {response} == {r.response for r in results}
        assert 49 == sum(r.replayed for r in results)
        assert 1 == len({r.expires_at for r in results})
        assert 1 == (await store.load_states([sid]))[sid].version

    async def test_concurrent_different_request_is_rejected(self, store: PostgresEventStore) -> None:
        """Racing calls with one key but different requests: the losers get IdempotencyKeyReusedError."""
        from ameide_eventstore import IdempotencyKeyReusedError  # noqa: PLC0415 - local to this test

        sid, key = uuid.uuid4(), uuid.uuid4().hex
        results = await asyncio.gather(
            *(
                store.append([stream(sid, ExpectedVersion.ANY)], idempotency=idem(key, request_hash=bytes([i])))
                for i in range(10)
            ),
            return_exceptions=True,
        )
        assert 1 == sum(not isinstance(r, BaseException) for r in results)
        assert all(isinstance(r, IdempotencyKeyReusedError) for r in results if isinstance(r, BaseException))
        assert 1 == (await store.load_states([sid]))[sid].version


class TestCancellation:
    async def test_a_cancelled_append_leaves_nothing_behind(self, engine: AsyncEngine) -> None:
        """Cancelling an append inside its transaction commits nothing, and the pool stays usable."""
        entered = asyncio.Event()

        async def hang() -> None:
            entered.set()
            await asyncio.Event().wait()

        a, b = uuid.uuid4(), uuid.uuid4()
        stuck = asyncio.create_task(PostgresEventStore(engine, before_commit=hang).append([stream(a, 0), stream(b, 0)]))
        await entered.wait()
        stuck.cancel()
        with pytest.raises(asyncio.CancelledError):
            await stuck
        store = PostgresEventStore(engine)
        assert {} == await store.load_states([a, b])
        assert {a: 1, b: 1} == dict((await store.append([stream(a, 0), stream(b, 0)])).versions)


class TestNewStreamBesideAnother:
    """A new stream and an existing one are written by one statement (the first message about an artifact)."""

    async def test_50_calls_one_key_create_one_stream_and_append_once(self, store: PostgresEventStore) -> None:
        """50 concurrent calls, one key, each creating a new stream beside one shared stream: one effect, one answer."""
        shared, key, response = uuid.uuid4(), uuid.uuid4().hex, uuid.uuid4().bytes
        await store.append([stream(shared, 0)])
        created = [uuid.uuid4() for _ in range(50)]
        results = await asyncio.gather(
            *(
                store.append([stream(new, 0, 2), stream(shared, 1)], idempotency=idem(key, response=response))
                for new in created
            )
        )
        assert {response} == {r.response for r in results}
        assert 49 == sum(r.replayed for r in results)
        [winner] = [r for r in results if not r.replayed]
        [new] = [sid for sid in winner.versions if sid != shared]
        assert {new: 2, shared: 2} == dict(winner.versions)
        states = await store.load_states([shared, *created])
        assert {shared: 2, new: 2} == {sid: state.version for sid, state in states.items()}

    async def test_commutative_writers_beside_new_streams_all_land(self, store: PostgresEventStore) -> None:
        """20 writers each creating a stream beside one existing one, commutatively (a popular artifact): all land."""
        shared = uuid.uuid4()
        await store.append([stream(shared, 0)])
        created = [uuid.uuid4() for _ in range(20)]
        results = await asyncio.gather(
            *(store.append([stream(new, 0, 3), stream(shared, 1, commutative=True)]) for new in created)
        )
        assert list(range(2, 22)) == sorted(r.versions[shared] for r in results)
        states = await store.load_states([shared, *created])
        assert {3} == {states[new].version for new in created}

    async def test_writers_racing_on_the_existing_stream_conflict_atomically(self, store: PostgresEventStore) -> None:
        """20 writers each creating a stream beside one existing stream at one version: one wins, the rest conflict."""
        shared = uuid.uuid4()
        await store.append([stream(shared, 0)])
        created = [uuid.uuid4() for _ in range(20)]
        results = await asyncio.gather(
            *(store.append([stream(new, 0), stream(shared, 1)]) for new in created), return_exceptions=True
        )
        conflicts = [r for r in results if isinstance(r, ConcurrencyError)]
        assert (19, {shared}) == (len(conflicts), {c.stream_id for c in conflicts})
        assert {2} == {c.actual for c in conflicts}
        states = await store.load_states([shared, *created])
        assert 2 == len(states)
        assert 2 == states[shared].version
