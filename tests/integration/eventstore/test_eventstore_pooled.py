"""The Postgres store on its own psycopg connection pool, as the command deployable runs it.

It passes the same contract, races and cancellation tests as on the engine's pool; the pool itself bounds,
reuses, cleans and discards connections.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ameide_eventstore import ConcurrencyError, ExpectedVersion, IdempotencyKeyReusedError
from ameide_eventstore.postgres import ConnectionPool, PostgresEventStore
from ameide_eventstore.testing import CONTRACT_UPCASTERS, EventStoreContract, idem, stream

pytestmark = pytest.mark.integration


@pytest.fixture(name="pool")
async def fixture_pool(database_url: str) -> AsyncIterator[ConnectionPool]:
    """A small pool on the run's database, closed after the test."""
    pool = ConnectionPool(database_url, size=4)
    yield pool
    await pool.close()


@pytest.fixture(name="store")
def fixture_store(engine: AsyncEngine, pool: ConnectionPool) -> PostgresEventStore:
    """A store whose hot path runs on ``pool`` (tests isolate by random stream ids)."""
    return PostgresEventStore(engine, upcasters=CONTRACT_UPCASTERS, pool=pool)


class TestPooledEventStore(EventStoreContract):
    """The pooled store passes the shared contract."""


class TestPooledRaces:
    async def test_32_writers_same_expected_version(self, store: PostgresEventStore) -> None:
        """32 concurrent appends on 4 connections expecting one version: one wins, 31 conflict, no holes."""
        sid = uuid.uuid4()
        await store.append([stream(sid, 0, 2)])
        results = await asyncio.gather(*(store.append([stream(sid, 2, 3)]) for _ in range(32)), return_exceptions=True)
        losers = [r for r in results if isinstance(r, BaseException)]
        assert 31 == len(losers)
        assert all(isinstance(r, ConcurrencyError) and (r.expected, r.actual) == (2, 5) for r in losers)
        assert list(range(1, 6)) == [e.version for e in await store.read_stream(sid)]

    async def test_50_calls_one_key_on_two_streams(self, store: PostgresEventStore) -> None:
        """50 concurrent multi-stream appends with one key: one effect, 50 identical responses."""
        a, b, key = uuid.uuid4(), uuid.uuid4(), uuid.uuid4().hex
        appends = [stream(a, ExpectedVersion.ANY), stream(b, ExpectedVersion.ANY)]
        results = await asyncio.gather(*(store.append(appends, idempotency=idem(key)) for _ in range(50)))
        assert 49 == sum(r.replayed for r in results)
        assert 1 == len({r.response for r in results})
        states = await store.load_states([a, b])
        assert (1, 1) == (states[a].version, states[b].version)
        assert (await store.get_idempotent_response(idem(key).key)) is not None


class TestPooledMultiStreamIdempotency:
    """A multi-stream append claims its key in its first stream's statement (no separate claim statement)."""

    async def test_repeated_key_replays_and_appends_once(self, store: PostgresEventStore) -> None:
        """The same key again: the first response and expiry, neither stream changed a second time."""
        a, b, key = uuid.uuid4(), uuid.uuid4(), uuid.uuid4().hex
        first = await store.append([stream(a, 0), stream(b, 0, 2)], idempotency=idem(key, response=b"first"))
        again = await store.append([stream(a, 1), stream(b, 2)], idempotency=idem(key, response=b"second"))
        assert (first.replayed, again.replayed) == (False, True)
        assert (b"first", first.expires_at) == (again.response, again.expires_at)
        assert {a: 1, b: 2} == first.versions
        states = await store.load_states([a, b])
        assert (1, 2) == (states[a].version, states[b].version)

    async def test_another_request_under_the_key_is_refused(self, store: PostgresEventStore) -> None:
        """The same key with another request hash: IdempotencyKeyReusedError, nothing appended."""
        a, b, key = uuid.uuid4(), uuid.uuid4(), uuid.uuid4().hex
        await store.append([stream(a, 0), stream(b, 0)], idempotency=idem(key))
        with pytest.raises(IdempotencyKeyReusedError):
            await store.append([stream(a, 1), stream(b, 1)], idempotency=idem(key, request_hash=b"other"))
        states = await store.load_states([a, b])
        assert (1, 1) == (states[a].version, states[b].version)

    @pytest.mark.parametrize("stale", [0, 1])
    async def test_a_conflict_on_either_stream_keeps_no_record(self, store: PostgresEventStore, stale: int) -> None:
        """A failed guard on the claiming (first) or a later stream rolls back the claim too; a retry succeeds."""
        ids = sorted([uuid.uuid4(), uuid.uuid4()])
        await store.append([stream(ids[stale], 0)])
        key = uuid.uuid4().hex
        attempt = [stream(ids[0], 0 if stale else 5), stream(ids[1], 5 if stale else 0)]
        with pytest.raises(ConcurrencyError) as raised:
            await store.append(attempt, idempotency=idem(key))
        assert ids[stale] == raised.value.stream_id
        assert await store.get_idempotent_response(idem(key).key) is None
        retried = await store.append(
            [stream(ids[0], 1 if stale == 0 else 0), stream(ids[1], 1 if stale == 1 else 0)], idempotency=idem(key)
        )
        assert not retried.replayed


class TestPooledCancellation:
    async def test_a_cancelled_append_leaves_nothing_behind(self, engine: AsyncEngine, pool: ConnectionPool) -> None:
        """Cancelling an append inside its transaction commits nothing, and the pool stays usable."""
        entered = asyncio.Event()

        async def hang() -> None:
            entered.set()
            await asyncio.Event().wait()

        a, b = uuid.uuid4(), uuid.uuid4()
        stuck_store = PostgresEventStore(engine, before_commit=hang, pool=pool)
        stuck = asyncio.create_task(stuck_store.append([stream(a, 0), stream(b, 0)]))
        await entered.wait()
        stuck.cancel()
        with pytest.raises(asyncio.CancelledError):
            await stuck
        store = PostgresEventStore(engine, pool=pool)
        assert {} == await store.load_states([a, b])
        assert {a: 1, b: 1} == dict((await store.append([stream(a, 0), stream(b, 0)])).versions)


class TestConnectionPool:
    async def test_connections_are_reused_and_bounded(self, pool: ConnectionPool) -> None:
        """Sequential uses share one connection; 10 concurrent holders never open more than ``size``."""
        async with pool.connection() as first:
            pid = first.info.backend_pid
        async with pool.connection() as again:
            assert pid == again.info.backend_pid
        in_use: set[int] = set()
        most = 0
        release = asyncio.Event()

        async def hold() -> None:
            nonlocal most
            async with pool.connection() as conn:
                in_use.add(id(conn))
                most = max(most, len(in_use))
                if len(in_use) == pool.size:
                    release.set()
                await release.wait()
                in_use.discard(id(conn))

        await asyncio.gather(*(hold() for _ in range(10)))
        assert pool.size == most

    async def test_connections_are_autocommit_and_returned_idle(self, pool: ConnectionPool) -> None:
        """A block that leaves a transaction open (then fails) hands back a rolled-back, idle connection."""

        async def fail_inside_a_transaction() -> None:
            async with pool.connection() as conn:
                await conn.execute("BEGIN")
                await conn.execute("CREATE TEMP TABLE pool_probe (x int)")
                raise RuntimeError

        with pytest.raises(RuntimeError):
            await fail_inside_a_transaction()
        async with pool.connection() as conn:
            assert conn.autocommit
            assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
            cursor = await conn.execute("SELECT to_regclass('pg_temp.pool_probe')")
            assert (None,) == await cursor.fetchone()

    async def test_a_broken_connection_is_replaced(self, pool: ConnectionPool, database_url: str) -> None:
        """A connection whose server session died is discarded; the next caller gets a working one."""
        admin_url = database_url.replace("postgresql+psycopg://", "postgresql://", 1)

        async def use_a_killed_session() -> None:
            async with pool.connection() as conn:
                async with await psycopg.AsyncConnection.connect(admin_url, autocommit=True) as admin:
                    await admin.execute("SELECT pg_terminate_backend(%s)", (conn.info.backend_pid,))
                await conn.execute("SELECT 1")

        with pytest.raises(psycopg.OperationalError):
            await use_a_killed_session()
        async with pool.connection() as conn:
            assert (1,) == await (await conn.execute("SELECT 1")).fetchone()

    async def test_a_closed_pool_refuses_connections(self, database_url: str) -> None:
        """After close, the pool hands out nothing."""
        pool = ConnectionPool(database_url, size=1)
        async with pool.connection():
            pass
        await pool.close()
        with pytest.raises(psycopg.OperationalError, match="closed"):
            async with pool.connection():
                pass

    async def test_waiting_longer_than_the_timeout_fails(self, database_url: str) -> None:
        """With every connection held, a caller gives up after the pool's timeout (TimeoutError)."""
        pool = ConnectionPool(database_url, size=1, timeout=0.05)
        try:
            async with pool.connection():
                with pytest.raises(TimeoutError):
                    async with pool.connection():
                        pass
        finally:
            await pool.close()
