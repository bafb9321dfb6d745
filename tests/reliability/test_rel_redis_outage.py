"""Scenario 3: the test's own Redis is killed under load, restarted empty, and flushed.

Nothing depends on Redis for correctness: every write and read succeeds throughout (no retry needed), the
projector keeps projecting, open streams keep delivering from rm_feed while Redis is away, and after recovery the
publisher catches Redis up from rm_feed so every update is delivered and Redis matches rm_feed.
"""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from ameide_readmodel.feed.names import chat_feed
from tests.integration.feed.feed_redis_process import RedisProcess
from tests.reliability.auditor import Auditor
from tests.reliability.rel_chaos import Progress, mixed_load
from tests.reliability.rel_client import Stubs, Tally, codec_of, new_tenant
from tests.reliability.rel_fleet import Fleet
from tests.reliability.rel_load import WRITE_KINDS, Ledger, build_world, caught_up
from tests.reliability.rel_modelcheck import feed_head
from tests.reliability.rel_report import record
from tests.reliability.rel_streams import Follower, following

pytestmark = pytest.mark.reliability

SEED = 3303


async def _delivered_without_redis(
    followers: list[Follower], ledger: Ledger, clients: Stubs, auditor: Auditor, problems: list[str]
) -> None:
    """While Redis is down: the projector keeps up with the writes and every follower gets its feed to the head."""
    problems += await caught_up(ledger, clients)
    for follower in followers:
        head = await feed_head(auditor._engine, chat_feed(follower.chat_id))
        if not await follower.wait_for(head):
            problems.append(f"without Redis, follower of {follower.chat_id} stuck at {follower.last_seq}/{head}")


async def test_redis_outage_empty_restart_and_flush(
    fleet: Fleet, own_redis: RedisProcess, clients: Stubs, auditor: Auditor
) -> None:
    """Kill Redis, restart it empty, flush it: every call succeeds, every update arrives, Redis is caught up."""
    tally, ledger = Tally(), Ledger()
    violations: list[str] = []
    log: list[str] = []
    problems: list[str] = []
    users = new_tenant(fleet, "fay", "gus")
    world = await build_world(clients, users, ledger, tally)
    followers = [Follower(chat_id, users[1], codec_of(fleet), tally) for chat_id in world.chats]

    async def chaos(progress: Progress) -> None:
        try:
            for cycle in range(2):
                await progress.reach(progress.acked + 15)
                await asyncio.to_thread(own_redis.stop)
                log.append(f"Redis killed at write {progress.acked}")
                await progress.reach(progress.acked + 25)
                await _delivered_without_redis(followers, ledger, clients, auditor, problems)
                await asyncio.to_thread(own_redis.start)
                log.append(f"Redis restarted empty ({cycle + 1})")
            await progress.reach(progress.acked + 15)
            async with Redis.from_url(own_redis.url) as client:
                await client.flushall()
            log.append(f"Redis flushed at write {progress.acked}")
            await progress.reach(progress.acked + 15)
        finally:
            progress.finished.set()

    async with following(followers, clients, world.tokens):
        await mixed_load(
            world, clients, ledger, tally, writers=4, ops=15, seed=SEED, during=chaos, violations=violations
        )
        verdict = await auditor.audit(ledger, followers=followers, redis_up=True)
    record(
        "3 Redis outage, empty restart, flush",
        load=f"4 writers x >=15 keyed writes, 2 readers, {len(followers)} followers",
        faults="; ".join(log),
        tally=tally,
        verdict=verdict,
        notes=f"codes {dict(tally.codes)}; {sum(f.reconnects for f in followers)} stream resumes",
    )
    assert verdict.ok, verdict.report()
    assert problems == []
    # Writes never needed a retry; a read may only have waited past its bounded read-your-writes wait.
    assert [rpc for rpc, _ in tally.failures if rpc in WRITE_KINDS or rpc.startswith("Stream")] == [], tally.failures
    assert {code for _, code in tally.failures} <= {"UNAVAILABLE"}, tally.failures
    assert violations == []
    assert fleet.crashed() == {}
