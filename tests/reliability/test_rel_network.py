"""Scenario 4: latency, partitions and connection resets between the services and PostgreSQL / Redis.

``ip netns add`` works here, but the kernel has no netem qdisc and there is no iptables, so a fault-injecting TCP
proxy (``rel_proxy``) sits between a separate fleet (command, query, projector on their own database) and the
test's PostgreSQL and Redis. Expect: deadlines honoured (a call cut off by a partition ends with
DEADLINE_EXCEEDED or UNAVAILABLE, never INTERNAL and never later than its deadline allows), the projector and
streams carry on through a Redis partition, and after healing every write retried with its key lands exactly once.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from ameide_migrations import upgrade
from ameide_readmodel.feed.names import chat_feed
from tests.integration.feed.feed_redis_process import RedisProcess
from tests.reliability.auditor import Auditor, Verdict
from tests.reliability.conftest import FLEET_ENV
from tests.reliability.rel_chaos import Progress, mixed_load, until
from tests.reliability.rel_client import Code, Stubs, Tally, codec_of, new_tenant, stubs
from tests.reliability.rel_fleet import Fleet, running_fleet
from tests.reliability.rel_load import Ledger, World, build_world, caught_up, execute, send_op
from tests.reliability.rel_modelcheck import feed_head
from tests.reliability.rel_proxy import FaultProxy, fault_proxy
from tests.reliability.rel_report import record
from tests.reliability.rel_servers import PgCluster
from tests.reliability.rel_streams import Follower, following
from tests.support.servers import fresh_database

pytestmark = pytest.mark.reliability

SEED = 4404
DEADLINE = 3.0
PROBES = 3
CUT_OFF = frozenset({Code.DEADLINE_EXCEEDED, Code.UNAVAILABLE})


class Net:
    """The proxied fleet and what the chaos needs of it."""

    def __init__(self, fleet: Fleet, pg_proxy: FaultProxy, redis_proxy: FaultProxy, auditor: Auditor) -> None:
        self.fleet, self.pg_proxy, self.redis_proxy, self.auditor = fleet, pg_proxy, redis_proxy, auditor
        self.log: list[str] = []
        self.problems: list[str] = []
        self.probe_seconds: list[float] = []


async def _probe(net: Net, world: World, clients: Stubs, ledger: Ledger, probes: Tally) -> None:
    """Writes during a partition: cut off by their deadline (or UNAVAILABLE), never later, never INTERNAL."""
    for index in range(PROBES):
        op = send_op(world.users[0], world.chats[0], f"across the partition {index}")
        ledger.ops.append(op)
        started = time.monotonic()
        await execute(op, clients, probes, allowed=CUT_OFF, deadline=DEADLINE, give_up=0)
        net.probe_seconds.append(time.monotonic() - started)


async def _redis_partition(
    net: Net, followers: list[Follower], progress: Progress, ledger: Ledger, clients: Stubs
) -> None:
    net.redis_proxy.partition()
    net.log.append(f"Redis partitioned at write {progress.acked}")
    await progress.reach(progress.acked + 20)
    net.problems.extend(await caught_up(ledger, clients))
    for follower in followers:
        head = await feed_head(net.auditor._engine, chat_feed(follower.chat_id))
        if not await follower.wait_for(head):
            net.problems.append(f"Redis partitioned: follower of {follower.chat_id} stuck at {follower.last_seq}")
    net.redis_proxy.heal()
    net.redis_proxy.reset()
    net.log.append("Redis healed, its connections reset")


async def test_latency_partition_and_reset_between_services_and_stores(
    pg: PgCluster, own_redis: RedisProcess, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Latency, a PostgreSQL partition, resets and a Redis partition: deadlines honoured, nothing lost."""
    tally, probes, ledger = Tally(), Tally(), Ledger()
    violations: list[str] = []
    logs: Path = tmp_path_factory.mktemp("net-fleet-logs")
    with (
        fresh_database(pg.url, f"ameide_net_{uuid.uuid4().hex[:10]}") as url,
        fault_proxy(pg.port) as pg_proxy,
        fault_proxy(own_redis.port) as redis_proxy,
    ):
        upgrade(url)
        proxied_db = url.replace(f":{pg.port}/", f":{pg_proxy.port}/")
        proxied_redis = f"redis://127.0.0.1:{redis_proxy.port}/0"
        names = ("command", "query", "projector")
        with running_fleet(proxied_db, proxied_redis, logs, names, extra_env=FLEET_ENV) as fleet:
            engine = create_async_engine(url, pool_size=2, max_overflow=2, pool_pre_ping=True)
            clients = stubs(fleet)
            net = Net(fleet, pg_proxy, redis_proxy, Auditor(engine, clients, own_redis.url))
            try:
                verdict = await _run(net, clients, ledger, tally=tally, probes=probes, violations=violations)
                crashed = fleet.crashed()
            finally:
                await clients.close()
                await engine.dispose()
    tally.merge(probes)
    record(
        "4 latency / partition / reset (TCP proxy)",
        load="4 writers x >=15 keyed writes (3 s deadline), 2 readers, 2 followers",
        faults="; ".join(net.log),
        tally=tally,
        verdict=verdict,
        notes=f"partition probes {dict(probes.codes)}, slowest {max(net.probe_seconds):.2f}s for a {DEADLINE}s "
        f"deadline; codes {dict(tally.codes)}",
    )
    assert verdict.ok, verdict.report()
    assert net.problems == []
    assert set(probes.codes) <= {c.name for c in CUT_OFF}, probes.codes
    assert tally.wrong == []
    assert violations == []
    assert crashed == {}


async def _run(
    net: Net, clients: Stubs, ledger: Ledger, *, tally: Tally, probes: Tally, violations: list[str]
) -> Verdict:
    users = new_tenant(net.fleet, "hal", "ivy")
    world = await build_world(clients, users, ledger, tally, chats=2)
    followers = [Follower(chat_id, users[1], codec_of(net.fleet), tally) for chat_id in world.chats]

    async def chaos(progress: Progress) -> None:
        try:
            await progress.reach(progress.acked + 10)
            net.pg_proxy.delay(0.02)
            net.log.append(f"PostgreSQL +20 ms per chunk at write {progress.acked}")
            await progress.reach(progress.acked + 20)
            net.pg_proxy.delay(0)
            net.pg_proxy.partition()
            net.log.append(f"PostgreSQL partitioned at write {progress.acked}")
            await _probe(net, world, clients, ledger, probes)
            cut = tally.codes[Code.DEADLINE_EXCEEDED.name] + tally.codes[Code.UNAVAILABLE.name]
            await until(
                lambda: tally.codes[Code.DEADLINE_EXCEEDED.name] + tally.codes[Code.UNAVAILABLE.name] >= cut + 4,
                "the load to run into the partition",
            )
            net.pg_proxy.heal()
            net.log.append("PostgreSQL healed")
            await progress.reach(progress.acked + 15)
            net.pg_proxy.reset()
            net.log.append(f"PostgreSQL connections reset at write {progress.acked}")
            await progress.reach(progress.acked + 15)
            await _redis_partition(net, followers, progress, ledger, clients)
            await progress.reach(progress.acked + 15)
        finally:
            progress.finished.set()

    async with following(followers, clients, world.tokens):
        await mixed_load(
            world,
            clients,
            ledger,
            tally,
            writers=4,
            ops=15,
            seed=SEED,
            during=chaos,
            violations=violations,
            deadline=DEADLINE,
        )
        for op in ledger.unresolved():  # the partition probes, sent again with their keys
            await execute(op, clients, tally, deadline=DEADLINE)
        return await net.auditor.audit(ledger, followers=followers)
