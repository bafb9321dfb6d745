"""Reads on a real streaming replica: the query service on a hot standby of the primary the tests own.

The primary and its replica (``pg_basebackup``, a standby on a port of its own) are PostgreSQL clusters of this
module; the command service and the projector write to the primary through a TCP proxy (the address a failover
repoints), the query service reads the replica (``AMEIDE_QUERY_DATABASE_URL``). Consistency tokens name stream
versions the projector applied on the primary; the replica shows them once it has replayed them, so a read with a
token waits for the replica's replay as for the projector (up to ``AMEIDE_CONSISTENCY_WAIT_MS``), then answers
UNAVAILABLE (NOT_YET_CONSISTENT, retryable). Each scenario ends with the auditor, reading the replica's answers
once it has replayed everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import grpc
import grpc.aio
import psycopg
import pytest
from psycopg import sql
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from ameide_core_proto.threads.v1 import threads_service_pb2 as chat
from ameide_migrations import upgrade
from tests.integration.feed.feed_redis_process import RedisProcess, redis_process
from tests.reliability.auditor import Auditor
from tests.reliability.rel_chaos import Progress, mixed_load
from tests.reliability.rel_client import Caller, Code, Stubs, Tally, codec_of, new_tenant, stubs
from tests.reliability.rel_fleet import Fleet, running_fleet
from tests.reliability.rel_load import Ledger, build_world, execute, send_op
from tests.reliability.rel_proxy import FaultProxy, fault_proxy
from tests.reliability.rel_report import record
from tests.reliability.rel_servers import PgCluster
from tests.reliability.rel_streams import Follower, following
from tests.support.grpc_status import details_of

pytestmark = pytest.mark.reliability

INSTANCES = ("command", "query", "projector")
CONSISTENCY_WAIT_MS = 2000
FLEET_ENV = {
    "AMEIDE_HEARTBEAT_SECONDS": "2",
    "AMEIDE_SHUTDOWN_GRACE_SECONDS": "3",
    "AMEIDE_CONSISTENCY_WAIT_MS": str(CONSISTENCY_WAIT_MS),
}
DATABASE = f"ameide_replica_{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module", name="pair")
def fixture_pair() -> Iterator[tuple[PgCluster, PgCluster]]:
    """A primary and its streaming replica (hot standby), both started."""
    primary = PgCluster()
    standby: PgCluster | None = None
    try:
        primary.start()
        standby = PgCluster(backup_of=primary)
        standby.start()
        yield primary, standby
    finally:
        for cluster in (standby, primary):
            if cluster is not None:
                cluster.close()


@pytest.fixture(scope="module", name="writes_proxy")
def fixture_writes_proxy(pair: tuple[PgCluster, PgCluster]) -> Iterator[FaultProxy]:
    """The primary's address as the writers know it (a failover points it at the promoted replica)."""
    with fault_proxy(pair[0].port) as proxy:
        yield proxy


@pytest.fixture(scope="module", name="urls")
def fixture_urls(pair: tuple[PgCluster, PgCluster], writes_proxy: FaultProxy) -> tuple[str, str]:
    """The migrated database: its URL through the writers' proxy, and on the replica (once replayed there)."""
    primary, standby = pair
    with psycopg.connect(primary.libpq(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
    writes = f"postgresql+psycopg://postgres@127.0.0.1:{writes_proxy.port}/{DATABASE}"
    upgrade(writes)
    standby.wait_replayed(primary)
    return writes, f"postgresql+psycopg://postgres@127.0.0.1:{standby.port}/{DATABASE}"


@pytest.fixture(scope="module", name="replica_redis")
def fixture_replica_redis() -> Iterator[RedisProcess]:
    """A redis-server of this module's fleet."""
    with redis_process() as proc:
        yield proc


@pytest.fixture(scope="module", name="replica_fleet")
def fixture_replica_fleet(
    urls: tuple[str, str], replica_redis: RedisProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Fleet]:
    """Command and projector on the primary (through the proxy), the query service on the replica."""
    writes, reads = urls
    logs: Path = tmp_path_factory.mktemp("replica-fleet-logs")
    query_env = {"query": {"AMEIDE_QUERY_DATABASE_URL": reads}}
    with running_fleet(writes, replica_redis.url, logs, INSTANCES, extra_env=FLEET_ENV, instance_env=query_env) as f:
        yield f


@pytest.fixture(scope="module", name="replica_engine")
async def fixture_replica_engine(urls: tuple[str, str]) -> AsyncIterator[AsyncEngine]:
    """An engine on the primary through the proxy (it follows a failover): the auditor's reads of the log."""
    engine = create_async_engine(urls[0], pool_size=4, max_overflow=4, pool_pre_ping=True)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="module", name="replica_clients")
async def fixture_replica_clients(replica_fleet: Fleet) -> AsyncIterator[Stubs]:
    """Stubs of the module's command and query services."""
    made = stubs(replica_fleet)
    yield made
    await made.close()


@pytest.fixture(scope="module", name="replica_auditor")
def fixture_replica_auditor(
    replica_engine: AsyncEngine, replica_clients: Stubs, replica_redis: RedisProcess
) -> Auditor:
    """The auditor of the module's database."""
    return Auditor(replica_engine, replica_clients, replica_redis.url)


Fault = Callable[[list[str], Progress], Awaitable[None]]


async def _load_through(
    fault: Fault,
    *,
    scenario: str,
    users: list[Caller],
    seed: int,
    fleet: Fleet,
    clients: Stubs,
    auditor: Auditor,
    replayed: Callable[[], None] | None = None,
) -> None:
    """Mixed keyed load with read-your-writes readers and followers; ``fault`` after 10 writes, 15 more after it.

    Then (after ``replayed``, if any) the auditor, and every client answer checked.
    """
    tally, ledger = Tally(), Ledger()
    violations: list[str] = []
    log: list[str] = []
    world = await build_world(clients, users, ledger, tally)
    followers = [Follower(chat_id, users[0], codec_of(fleet), tally) for chat_id in world.chats]

    async def during(progress: Progress) -> None:
        try:
            await progress.reach(progress.acked + 10)
            await fault(log, progress)
            await progress.reach(progress.acked + 15)
        finally:
            progress.finished.set()

    async with following(followers, clients, world.tokens):
        await mixed_load(
            world, clients, ledger, tally, writers=3, ops=10, seed=seed, during=during, violations=violations
        )
        if replayed is not None:
            await asyncio.to_thread(replayed)
        verdict = await auditor.audit(ledger, followers=followers)
    record(
        scenario,
        load=f"3 writers x >=10 keyed writes, 2 read-your-writes readers, {len(followers)} followers",
        faults="; ".join(log),
        tally=tally,
        verdict=verdict,
        notes=f"all codes {dict(tally.codes)}",
    )
    assert verdict.ok, verdict.report()
    assert violations == []
    assert tally.wrong == []
    assert fleet.crashed() == {}


async def test_reads_on_the_replica_see_their_writes_across_its_restart(
    pair: tuple[PgCluster, PgCluster], replica_fleet: Fleet, replica_clients: Stubs, replica_auditor: Auditor
) -> None:
    """Mixed load, reads on the replica, restarted mid-load: each read with a token sees its write, none lost."""
    primary, standby = pair

    async def restart_the_replica(log: list[str], progress: Progress) -> None:
        await asyncio.to_thread(standby.stop)
        log.append(f"replica stopped at write {progress.acked}")
        await asyncio.to_thread(standby.start)
        log.append(f"replica back at write {progress.acked}")

    await _load_through(
        restart_the_replica, scenario="R1 reads on a replica, replica restart",
        users=new_tenant(replica_fleet, "rhea", "rolf"), seed=2101, fleet=replica_fleet, clients=replica_clients,
        auditor=replica_auditor, replayed=lambda: standby.wait_replayed(primary),
    )  # fmt: skip


async def test_replay_paused_reads_wait_then_answer_unavailable_and_streams_lose_nothing(
    pair: tuple[PgCluster, PgCluster], replica_fleet: Fleet, replica_clients: Stubs, replica_auditor: Auditor
) -> None:
    """Replay paused: a read with a fresh token waits its bound, then UNAVAILABLE (NOT_YET_CONSISTENT).

    A read without a token shows the replayed past; live streams still deliver; after resuming, the token read
    succeeds and the audit is clean.
    """
    primary, standby = pair
    tally, ledger = Tally(), Ledger()
    [user] = new_tenant(replica_fleet, "pia")
    world = await build_world(replica_clients, [user], ledger, tally, chats=1)
    chat_id = world.chats[0]
    codec = codec_of(replica_fleet)
    follower = Follower(chat_id, user, codec, tally)
    late = Follower(chat_id, user, codec, tally)
    async with following([follower], replica_clients, world.tokens):
        await asyncio.to_thread(standby.pause_replay)
        try:
            op = send_op(user, chat_id, "written while the replica's replay is paused")
            ledger.ops.append(op)
            await execute(op, replica_clients, tally)
            sent = op.ack.message
            with_token = chat.GetMessagesRequest(
                threads_id=chat_id, newest_first=True, page_size=1, consistency_token=op.ack.consistency_token
            )
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await replica_clients.chat_reads.GetMessages(with_token, metadata=user.metadata, timeout=30)
            details = details_of(refused.value)
            assert (Code.UNAVAILABLE, "NOT_YET_CONSISTENT") == (details.code, details.reason)
            assert details.retry_after_ms is not None
            without = chat.GetMessagesRequest(threads_id=chat_id, newest_first=True, page_size=1)
            stale = await replica_clients.chat_reads.GetMessages(without, metadata=user.metadata, timeout=30)
            assert stale.total_count < sent.sequence  # the replayed past: the new message is not there yet
            # Live updates come from the projector on the primary: they arrive while the replica stands still, to
            # a running subscriber and to one starting from the replica's (older) checkpoint alike.
            async with following([late], replica_clients):
                assert await _receives(follower, sent.id)
                assert await _receives(late, sent.id)
        finally:
            await asyncio.to_thread(standby.resume_replay)
        fresh = await replica_clients.chat_reads.GetMessages(with_token, metadata=user.metadata, timeout=30)
        assert (fresh.total_count, fresh.messages[0].id) == (sent.sequence, sent.id)
        await asyncio.to_thread(standby.wait_replayed, primary)
        verdict = await replica_auditor.audit(ledger, followers=[follower])
    record(
        "R2 replica replay paused",
        load="1 keyed send, reads with and without its token, 2 followers",
        faults="pg_wal_replay_pause() on the replica, then resume",
        tally=tally,
        verdict=verdict,
        notes=f"refused: {details.reason} after the {CONSISTENCY_WAIT_MS} ms bound; all codes {dict(tally.codes)}",
    )
    assert verdict.ok, verdict.report()
    assert tally.wrong == []
    assert (follower.gaps, late.gaps) == ([], [])


async def _receives(follower: Follower, message_id: str, *, within: float = 60.0) -> bool:
    """Whether ``follower`` receives the message (bounded)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(within):
            while message_id not in follower.message_ids:
                follower.advanced.clear()
                await follower.advanced.wait()
    return message_id in follower.message_ids


async def test_the_replica_promoted_mid_load_loses_nothing(
    pair: tuple[PgCluster, PgCluster],
    writes_proxy: FaultProxy,
    replica_fleet: Fleet,
    replica_clients: Stubs,
    replica_auditor: Auditor,
) -> None:
    """A switchover mid-load: nothing acknowledged is lost, writes retried with their keys land once.

    The primary stops (fast: it ships its last WAL to the replica first), the replica is promoted and the writers'
    address repointed to it.
    """
    primary, standby = pair

    async def switch_over(log: list[str], progress: Progress) -> None:
        await asyncio.to_thread(primary.stop)
        log.append(f"primary stopped at write {progress.acked}")
        await asyncio.to_thread(standby.promote)
        writes_proxy.upstream_port = standby.port
        writes_proxy.reset()
        log.append(f"replica promoted, writers repointed at write {progress.acked}")

    await _load_through(
        switch_over, scenario="R3 replica promoted mid-load", users=new_tenant(replica_fleet, "paco", "pili"),
        seed=2103, fleet=replica_fleet, clients=replica_clients, auditor=replica_auditor,
    )  # fmt: skip
