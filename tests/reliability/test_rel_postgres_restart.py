"""Scenario 2: the test's own PostgreSQL crashes (immediate stop) under load and comes back after crash recovery.

While it is down, commands and reads answer UNAVAILABLE within their deadline (never INTERNAL, never a hang);
afterwards writes succeed again, the projector reconnects and re-acquires its shards on its own, stream readers
catch up, and the auditor finds nothing lost, duplicated or half-applied.
"""

from __future__ import annotations

import asyncio

import grpc.aio
import pytest

from ameide_core_proto.threads.v1 import threads_service_pb2 as chat
from tests.reliability.auditor import Auditor
from tests.reliability.rel_chaos import Progress, mixed_load, until
from tests.reliability.rel_client import Code, Stubs, Tally, codec_of, new_tenant
from tests.reliability.rel_fleet import Fleet
from tests.reliability.rel_load import Ledger, World, build_world, execute, send_op
from tests.reliability.rel_report import record
from tests.reliability.rel_servers import PgCluster
from tests.reliability.rel_streams import Follower, following

pytestmark = pytest.mark.reliability

SEED = 2202
PROBES = 4
PROBE_DEADLINE = 10.0
OUTAGE_FAILURES = 12


async def _probe_outage(world: World, clients: Stubs, ledger: Ledger, probes: Tally) -> None:
    """Writes and reads while the database is down: each must fail fast with UNAVAILABLE."""
    user = world.users[0]
    for index in range(PROBES):
        op = send_op(user, world.chats[index % len(world.chats)], f"during the outage {index}")
        ledger.ops.append(op)
        await execute(op, clients, probes, allowed={Code.UNAVAILABLE}, deadline=PROBE_DEADLINE, give_up=0)
        read = chat.GetMessagesRequest(threads_id=world.chats[0], page_size=5)
        try:
            await clients.chat_reads.GetMessages(read, metadata=user.metadata, timeout=PROBE_DEADLINE)
            probes.ok()
        except grpc.aio.AioRpcError as error:
            probes.failed("GetMessages", error, {Code.UNAVAILABLE})


async def test_postgres_crash_and_recovery_under_load(
    fleet: Fleet, pg: PgCluster, clients: Stubs, auditor: Auditor
) -> None:
    """Crash PostgreSQL mid-load: UNAVAILABLE while down, full recovery, zero lost or duplicated."""
    tally, probes, ledger = Tally(), Tally(), Ledger()
    violations: list[str] = []
    log: list[str] = []
    users = new_tenant(fleet, "dora", "eli")
    world = await build_world(clients, users, ledger, tally)
    followers = [Follower(chat_id, users[0], codec_of(fleet), tally) for chat_id in world.chats]

    async def chaos(progress: Progress) -> None:
        try:
            await progress.reach(progress.acked + 15)
            await asyncio.to_thread(pg.crash)
            log.append(f"PostgreSQL crashed at write {progress.acked}")
            await _probe_outage(world, clients, ledger, probes)
            # Stay down until the load itself has run into the outage (a count, not a duration).
            await until(lambda: tally.codes[Code.UNAVAILABLE.name] >= OUTAGE_FAILURES, "the load to hit the outage")
            await asyncio.to_thread(pg.start)
            log.append("PostgreSQL restarted (crash recovery)")
            await progress.reach(progress.acked + 30)
        finally:
            progress.finished.set()

    async with following(followers, clients, world.tokens):
        await mixed_load(
            world, clients, ledger, tally, writers=4, ops=15, seed=SEED, during=chaos, violations=violations
        )
        for op in ledger.unresolved():  # the probes, sent again with their keys once the database is back
            await execute(op, clients, tally)
        verdict = await auditor.audit(ledger, followers=followers)
    tally.merge(probes)
    record(
        "2 PostgreSQL crash + restart",
        load=f"4 writers x >=15 keyed writes, 2 readers, {len(followers)} followers",
        faults="; ".join(log),
        tally=tally,
        verdict=verdict,
        notes=f"outage probes: {dict(probes.codes)}; all codes {dict(tally.codes)}",
    )
    assert verdict.ok, verdict.report()
    assert probes.codes[Code.UNAVAILABLE.name] == 2 * PROBES, probes.codes
    assert tally.wrong == []
    assert violations == []
    assert fleet.crashed() == {}
