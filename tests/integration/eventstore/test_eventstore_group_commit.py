"""Group commit: concurrent appends written together, in one call, each command keeping its own outcome.

The store with group commit on passes the contract and every race suite of the store (their concurrent appends
form real batches beyond the direct lanes). Batches of a known make-up are formed on one lane with a gate: the first
command (written on its own, as a caller finding a free lane is) waits until the test has queued the others, which
then go as ONE batch.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ameide_eventstore import (
    AppendResult,
    ConcurrencyError,
    DuplicateEventError,
    ExpectedVersion,
    IdempotencyKeyReusedError,
    StreamAppend,
    TransientStoreError,
)
from ameide_eventstore.postgres import ConnectionPool, PostgresEventStore
from ameide_eventstore.postgres.batch_sql import Command
from ameide_eventstore.postgres.group_commit import GroupCommit
from ameide_eventstore.sharding import DEFAULT_SHARD_COUNT
from ameide_eventstore.testing import CONTRACT_UPCASTERS, EventStoreContract, event, idem, stream
from tests.integration.eventstore.test_eventstore_concurrency import TestConcurrentIdempotency as ConcurrentIdempotency
from tests.integration.eventstore.test_eventstore_concurrency import (
    TestNewStreamBesideAnother as NewStreamBesideAnother,
)
from tests.integration.eventstore.test_eventstore_concurrency import TestRacingWriters as RacingWriters
from tests.integration.eventstore.test_eventstore_pooled import TestPooledMultiStreamIdempotency as MultiStreamKeys
from tests.integration.eventstore.test_eventstore_pooled import TestPooledRaces as PooledRaces

pytestmark = pytest.mark.integration


@pytest.fixture(name="pool")
async def fixture_pool(database_url: str) -> AsyncIterator[ConnectionPool]:
    """A pool as the command deployable has one (closed after the test)."""
    pool = ConnectionPool(database_url, size=8)
    yield pool
    await pool.close()


@pytest.fixture(name="store")
def fixture_store(engine: AsyncEngine, pool: ConnectionPool) -> PostgresEventStore:
    """A store with group commit on (tests isolate by random stream ids)."""
    return PostgresEventStore(engine, upcasters=CONTRACT_UPCASTERS, pool=pool, group_commit=True)


class TestGroupCommitContract(EventStoreContract):
    """Group commit on: the shared contract holds."""


class _Batched:
    """Each race test's concurrent appends really went through batches of several commands."""

    @pytest.fixture(autouse=True)
    async def _batches_formed(self, store: PostgresEventStore) -> AsyncIterator[None]:
        yield
        assert store.group is not None
        assert store.group.batches > 0


class TestGroupCommitRacingWriters(_Batched, RacingWriters):
    """Racing writers on one stream: one winner, conflicts for the rest, no holes."""


class TestGroupCommitConcurrentIdempotency(ConcurrentIdempotency):
    """One key from many callers: one effect (a repeated key never shares a batch: no batch assertion)."""


class TestGroupCommitNewStreamBesideAnother(NewStreamBesideAnother):
    """New streams beside a shared one (the first message about an artifact), racing."""


class TestGroupCommitPooledRaces(PooledRaces):
    """The pooled store's races (one of them one key: not asserted to batch)."""


class TestGroupCommitMultiStreamKeys(MultiStreamKeys):
    """Multi-stream appends with keys."""


class Gate:
    """Appends a command on its own through a plain store; the first one waits until ``open()``."""

    def __init__(self, store: PostgresEventStore) -> None:
        self._store = store
        self._open = asyncio.Event()
        self.entered = asyncio.Event()
        self._first = True

    def open(self) -> None:
        """Let the first command through."""
        self._open.set()

    async def alone(self, command: Command) -> AppendResult | None:
        """See ``GroupCommit``'s ``alone``."""
        if self._first:
            self._first = False
            self.entered.set()
            await self._open.wait()
        return await self._store.append(command.appends, idempotency=command.idempotency)


async def one_batch(
    group: GroupCommit, gate: Gate, commands: list[Command], *, open_gate: bool = True
) -> list[asyncio.Task[AppendResult | None]]:
    """Hold the group behind a first command, queue ``commands``, then let them go as one batch; their tasks."""
    first = asyncio.create_task(group.append(Command([stream(uuid.uuid4(), 0)], None)))
    await gate.entered.wait()
    tasks = [asyncio.create_task(group.append(command)) for command in commands]
    await asyncio.sleep(0)  # each task runs up to its wait: queued behind the first
    assert len(commands) == group.queued
    if open_gate:
        gate.open()
        await first
    return tasks


def cmd(*appends: StreamAppend, key: str | None = None, request_hash: bytes = b"h1") -> Command:
    """A command of ``appends`` (sorted as the store sorts them), with a key if given."""
    ordered = sorted(appends, key=lambda item: item.stream_id)
    return Command(ordered, idem(key, request_hash=request_hash, response=f"r-{key}".encode()) if key else None)


@pytest.fixture(name="plain")
def fixture_plain(engine: AsyncEngine, pool: ConnectionPool) -> PostgresEventStore:
    """A store without group commit, to set up and to check."""
    return PostgresEventStore(engine, pool=pool)


class TestLanes:
    async def test_a_caller_finding_a_free_lane_is_written_at_once(
        self, plain: PostgresEventStore, pool: ConnectionPool
    ) -> None:
        """Two lanes, one held: the next caller takes the other lane, alone and at once, and nothing queues."""
        gate = Gate(plain)
        group = GroupCommit(pool.connection, gate.alone, shard_count=DEFAULT_SHARD_COUNT, lanes=2)
        held = asyncio.create_task(group.append(cmd(stream(uuid.uuid4(), 0))))
        await gate.entered.wait()
        sid = uuid.uuid4()
        result = await group.append(cmd(stream(sid, 0, 2)))
        assert result is not None
        assert ({sid: 2}, 0, 0, False) == (dict(result.versions), group.queued, group.batches, held.done())
        gate.open()
        assert await held is not None

    async def test_a_caller_whose_stream_is_being_written_queues(
        self, plain: PostgresEventStore, pool: ConnectionPool
    ) -> None:
        """A free lane, but the stream has a write in flight: the caller queues (it would wait for the row lock).

        A caller on another stream takes the free lane; the queued one is written once the first returns.
        """
        gate = Gate(plain)
        group = GroupCommit(pool.connection, gate.alone, shard_count=DEFAULT_SHARD_COUNT, lanes=2)
        hot, other = uuid.uuid4(), uuid.uuid4()
        first = asyncio.create_task(group.append(cmd(stream(hot, 0))))
        await gate.entered.wait()
        behind = asyncio.create_task(group.append(cmd(stream(hot, 1))))
        await asyncio.sleep(0)  # the task runs up to its wait
        assert 1 == group.queued
        elsewhere = await group.append(cmd(stream(other, 0)))
        assert elsewhere is not None
        assert ({other: 1}, 1) == (dict(elsewhere.versions), group.queued)
        gate.open()
        assert await first is not None
        again = await behind
        assert again is not None
        assert {hot: 2} == dict(again.versions)


class TestMixedOutcomesInOneBatch:
    async def test_each_command_gets_its_own_outcome(self, plain: PostgresEventStore, pool: ConnectionPool) -> None:
        """Conflict, success, replay, reused key, duplicate event, new stream and a multi-stream Ensure: one batch."""
        stale, fresh, artifact, new, chat, dup = (uuid.uuid4() for _ in range(6))
        await plain.append([stream(stale, 0), stream(fresh, 0), stream(artifact, 0)])
        replay_key, reused_key, stale_key = (uuid.uuid4().hex for _ in range(3))
        await plain.append([stream(uuid.uuid4(), 0)], idempotency=idem(replay_key, response=f"r-{replay_key}".encode()))
        await plain.append([stream(uuid.uuid4(), 0)], idempotency=idem(reused_key))
        stored_event = event()
        await plain.append([StreamAppend(uuid.uuid4(), "chat", "tenant-contract", 0, [stored_event])])
        gate = Gate(plain)
        group = GroupCommit(pool.connection, gate.alone, shard_count=DEFAULT_SHARD_COUNT, lanes=1)
        commands = [
            cmd(stream(stale, 0), key=stale_key),  # conflict: the stream is at 3
            cmd(stream(fresh, 1, 2)),  # success
            cmd(stream(uuid.uuid4(), 0), key=replay_key),  # the same request again: replayed
            cmd(stream(uuid.uuid4(), 0), key=reused_key, request_hash=b"another"),  # another request, same key
            cmd(StreamAppend(dup, "chat", "tenant-contract", 0, [stored_event])),  # an event id already stored
            cmd(stream(new, ExpectedVersion.NO_STREAM, 3)),  # a new stream
            cmd(stream(chat, 0, 3), stream(artifact, 1), key=uuid.uuid4().hex),  # a first message about an artifact
        ]
        tasks = await one_batch(group, gate, commands)
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert (1, len(commands)) == (group.batches, group.batched)
        conflict, success, replayed, reused, duplicate, created, ensured = results
        assert isinstance(conflict, ConcurrencyError)
        assert (stale, 0, 1) == (conflict.stream_id, conflict.expected, conflict.actual)
        assert isinstance(success, AppendResult)
        assert {fresh: 3} == dict(success.versions)
        assert isinstance(replayed, AppendResult)
        assert (True, f"r-{replay_key}".encode()) == (replayed.replayed, replayed.response)
        assert isinstance(reused, IdempotencyKeyReusedError)
        assert isinstance(duplicate, DuplicateEventError)
        assert isinstance(created, AppendResult)
        assert {new: 3} == dict(created.versions)
        assert isinstance(ensured, AppendResult)
        assert ({chat: 3, artifact: 2}, False) == (dict(ensured.versions), ensured.replayed)
        assert ensured.last_position > success.last_position
        # The failed commands left nothing: no key record for the conflict, no stream for the duplicate.
        assert await plain.get_idempotent_response(idem(stale_key).key) is None
        states = await plain.load_states([stale, fresh, dup, new, chat, artifact])
        assert {stale: 1, fresh: 3, new: 3, chat: 3, artifact: 2} == {s: st.version for s, st in states.items()}
        assert [1, 2, 3] == [e.version for e in await plain.read_stream(fresh)]

    async def test_commands_on_one_stream_apply_in_order(self, plain: PostgresEventStore, pool: ConnectionPool) -> None:
        """Three commands on one stream in one batch: in queue order, each checked against the one before."""
        sid = uuid.uuid4()
        gate = Gate(plain)
        group = GroupCommit(pool.connection, gate.alone, shard_count=DEFAULT_SHARD_COUNT, lanes=1)
        tasks = await one_batch(group, gate, [cmd(stream(sid, 0)), cmd(stream(sid, 1, 2)), cmd(stream(sid, 1))])
        first, second, third = await asyncio.gather(*tasks, return_exceptions=True)
        assert isinstance(first, AppendResult)
        assert isinstance(second, AppendResult)
        assert ({sid: 1}, {sid: 3}) == (dict(first.versions), dict(second.versions))
        assert isinstance(third, ConcurrencyError)
        assert (1, 3) == (third.expected, third.actual)
        outbox = await _outbox_positions(pool, sid)
        assert [e.global_position for e in await plain.read_stream(sid)] == outbox

    async def test_commutative_commands_in_one_batch_all_land(
        self, plain: PostgresEventStore, pool: ConnectionPool
    ) -> None:
        """Three first messages about one artifact, decided at one version, in one batch: none conflicts."""
        artifact = uuid.uuid4()
        await plain.append([stream(artifact, 0)])
        gate = Gate(plain)
        group = GroupCommit(pool.connection, gate.alone, shard_count=DEFAULT_SHARD_COUNT, lanes=1)
        chats = [uuid.uuid4() for _ in range(3)]
        commands = [cmd(stream(c, 0, 3), stream(artifact, 1, commutative=True)) for c in chats]
        results = await asyncio.gather(*await one_batch(group, gate, commands))
        assert (1, 3) == (group.batches, group.batched)
        assert [2, 3, 4] == [r.versions[artifact] for r in results if r is not None]
        assert list(range(1, 5)) == [e.version for e in await plain.read_stream(artifact)]

    async def test_a_repeated_key_waits_for_the_next_batch(
        self, plain: PostgresEventStore, pool: ConnectionPool
    ) -> None:
        """Two queued calls with one key never share a batch: the second replays what the first stored."""
        key = uuid.uuid4().hex
        gate = Gate(plain)
        group = GroupCommit(pool.connection, gate.alone, shard_count=DEFAULT_SHARD_COUNT, lanes=1)
        a, b, other = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        tasks = await one_batch(
            group, gate, [cmd(stream(a, 0), key=key), cmd(stream(b, 0), key=key), cmd(stream(other, 0))]
        )
        first, again, third = await asyncio.gather(*tasks)
        assert (1, 2) == (group.batches, group.batched)
        assert first is not None
        assert again is not None
        assert third is not None
        assert (False, True, first.response) == (first.replayed, again.replayed, again.response)
        assert {a, other} == set(await plain.load_states([a, b, other]))


async def _outbox_positions(pool: ConnectionPool, sid: uuid.UUID) -> list[int]:
    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT global_position FROM es_outbox WHERE stream_id = %s ORDER BY id", (sid,))
        return [row[0] for row in await cursor.fetchall()]


@pytest.fixture(name="locker")
async def fixture_locker(database_url: str) -> AsyncIterator[Callable[[uuid.UUID], Awaitable[Any]]]:
    """Lock a stream row in a transaction of the test's own, held until the test ends (or it commits)."""
    url = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    async with await psycopg.AsyncConnection.connect(url) as conn:

        async def lock(sid: uuid.UUID) -> psycopg.AsyncConnection[Any]:
            await conn.execute("SELECT 1 FROM es_streams WHERE stream_id = %s FOR UPDATE", (sid,))
            return conn

        yield lock
        await conn.rollback()


async def _batch_backend(database_url: str) -> int:
    """The pid of the backend running a batch (found once it waits)."""
    url = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as admin:
        while True:
            cursor = await admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE query LIKE '%%es_append_batch(%%' AND wait_event_type = 'Lock'"
            )
            row = await cursor.fetchone()
            if row is not None:
                return int(row[0])
            await asyncio.sleep(0.01)


class TestBatchFailures:
    async def test_connection_lost_mid_batch(
        self, plain: PostgresEventStore, pool: ConnectionPool, database_url: str, locker: Any
    ) -> None:
        """The batch's backend dies while it waits: each command gets TransientStoreError, nothing is written.

        Each retry with its key then appends exactly once.
        """
        held = uuid.uuid4()
        await plain.append([stream(held, 0)])
        await locker(held)
        gate = Gate(plain)
        group = GroupCommit(pool.connection, gate.alone, shard_count=DEFAULT_SHARD_COUNT, lanes=1)
        commands = [cmd(stream(uuid.uuid4(), 0), key=uuid.uuid4().hex), cmd(stream(held, 1), key=uuid.uuid4().hex),
                    cmd(stream(uuid.uuid4(), 0, 2), key=uuid.uuid4().hex)]  # fmt: skip
        tasks = await one_batch(group, gate, commands)
        pid = await _batch_backend(database_url)
        url = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as admin:
            await admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(r, TransientStoreError) for r in results), results
        ids = [item.stream_id for command in commands for item in command.appends]
        assert {held: 1} == {s: st.version for s, st in (await plain.load_states(ids)).items()}
        conn = await locker(held)
        await conn.commit()  # release the held stream
        retried = [await plain.append(c.appends, idempotency=c.idempotency) for c in commands]
        assert [False, False, False] == [r.replayed for r in retried]
        assert [{ids[0]: 1}, {held: 2}, {ids[2]: 2}] == [dict(r.versions) for r in retried]

    async def test_a_batch_rejected_whole_is_appended_command_by_command(
        self, engine: AsyncEngine, database_url: str, locker: Any
    ) -> None:
        """The batch fails as a whole (a lock timeout before any command) on a sound connection: it rolls back.

        Each command is then appended on its own: the free ones succeed, the blocked one gets its own error.
        """
        pool = ConnectionPool(f"{database_url}?options=-clock_timeout%3D100", size=4)
        try:
            plain = PostgresEventStore(engine, pool=pool)
            held = uuid.uuid4()
            await plain.append([stream(held, 0)])
            await locker(held)
            gate = Gate(plain)
            group = GroupCommit(pool.connection, gate.alone, shard_count=DEFAULT_SHARD_COUNT, lanes=1)
            free = [uuid.uuid4(), uuid.uuid4()]
            commands = [cmd(stream(free[0], 0)), cmd(stream(held, 1)), cmd(stream(free[1], 0))]
            tasks = await one_batch(group, gate, commands)
            first, blocked, third = await asyncio.gather(*tasks, return_exceptions=True)
            assert group.batches == 0  # the call failed: no batch was written
            assert isinstance(first, AppendResult)
            assert isinstance(third, AppendResult)
            assert isinstance(blocked, TransientStoreError)
            assert {free[0]: 1, free[1]: 1, held: 1} == {
                s: st.version for s, st in (await plain.load_states([*free, held])).items()
            }
        finally:
            await pool.close()


class TestCancellation:
    async def test_a_caller_cancelled_while_queued_is_never_written(
        self, plain: PostgresEventStore, pool: ConnectionPool
    ) -> None:
        """Cancel one queued caller: the others go as a batch, the cancelled command leaves nothing."""
        gate = Gate(plain)
        group = GroupCommit(pool.connection, gate.alone, shard_count=DEFAULT_SHARD_COUNT, lanes=1)
        ids = [uuid.uuid4() for _ in range(3)]
        tasks = await one_batch(group, gate, [cmd(stream(sid, 0)) for sid in ids], open_gate=False)
        tasks[1].cancel()
        gate.open()
        first, cancelled, third = await asyncio.gather(*tasks, return_exceptions=True)
        assert isinstance(cancelled, asyncio.CancelledError)
        assert isinstance(first, AppendResult)
        assert isinstance(third, AppendResult)
        assert (1, 2) == (group.batches, group.batched)
        assert {ids[0], ids[2]} == set(await plain.load_states(ids))

    async def test_a_caller_cancelled_in_flight_does_not_fail_the_others(
        self, plain: PostgresEventStore, pool: ConnectionPool, database_url: str, locker: Any
    ) -> None:
        """Cancel a caller whose batch is in the database: the batch goes on and the others get their results."""
        held = uuid.uuid4()
        await plain.append([stream(held, 0)])
        conn = await locker(held)
        gate = Gate(plain)
        group = GroupCommit(pool.connection, gate.alone, shard_count=DEFAULT_SHARD_COUNT, lanes=1)
        ids = [uuid.uuid4(), uuid.uuid4()]
        tasks = await one_batch(group, gate, [cmd(stream(ids[0], 0)), cmd(stream(held, 1)), cmd(stream(ids[1], 0))])
        await _batch_backend(database_url)
        tasks[0].cancel()
        await conn.commit()
        cancelled, second, third = await asyncio.gather(*tasks, return_exceptions=True)
        assert isinstance(cancelled, asyncio.CancelledError)
        assert isinstance(second, AppendResult)
        assert isinstance(third, AppendResult)
        assert ({held: 2}, {ids[1]: 1}) == (dict(second.versions), dict(third.versions))
        assert (1, 3) == (group.batches, group.batched)
