"""A Redis that restarts empty: nothing crashes, presence rebuilds from the next announcements, the epoch says so."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from ameide_core_proto.live.v1 import live_types_pb2 as types
from ameide_query.live.drafts import DraftStore
from ameide_query.live.presence import PresenceStore
from ameide_query.live.scripts import Scripts
from ameide_query.live.snapshots import Snapshots
from ameide_query.live.sweeper import Sweeper
from ameide_readmodel.feed.names import chat_feed
from ameide_runtime.identity import Identity
from tests.integration.feed.feed_redis_process import RedisProcess, redis_process
from tests.integration.query.live.conftest import Clock

pytestmark = pytest.mark.integration

ALICE = Identity("alice", "acme")
TYPING = types.PRESENCE_STATE_TYPING


@pytest.fixture(name="own_redis")
def fixture_own_redis() -> Iterator[RedisProcess]:
    """A redis-server this test restarts."""
    with redis_process() as proc:
        yield proc


async def test_presence_rebuilds_after_redis_lost_its_data(own_redis: RedisProcess) -> None:
    """Scripts reload themselves, the epoch changes, the next heartbeat makes the user present again."""
    redis = Redis.from_url(own_redis.url)
    scripts, clock = Scripts.register(redis), Clock()
    presence = PresenceStore(redis, scripts, viewing_ttl_seconds=30, typing_ttl_seconds=6, clock=clock)
    snapshots = Snapshots(redis, scripts)
    chat = chat_feed(str(uuid.uuid4()))
    try:
        await presence.announce(chat, ALICE, "tab-1", TYPING, "Alice")
        before = await snapshots.epoch()
        own_redis.stop()
        with pytest.raises((RedisConnectionError, OSError)):
            await presence.announce(chat, ALICE, "tab-1", TYPING, "Alice")
        own_redis.start()
        assert await snapshots.epoch() == ""  # nothing left: subscribers start their signals over
        assert (await snapshots.read(chat, "acme")).participants == []
        await presence.announce(chat, ALICE, "tab-1", TYPING, "Alice")  # the next heartbeat
        rebuilt = await snapshots.read(chat, "acme")
        assert [(p.user_id, p.state) for p in rebuilt.participants] == [("alice", TYPING)]
        assert rebuilt.epoch not in ("", before)
    finally:
        await redis.aclose()


async def test_the_sweeper_outlives_an_outage_and_still_expires(own_redis: RedisProcess) -> None:
    """While Redis is down the sweeper retries; afterwards a typing entry still times out (no stale typing)."""
    redis = Redis.from_url(own_redis.url)
    scripts = Scripts.register(redis)
    presence = PresenceStore(redis, scripts, viewing_ttl_seconds=0.6, typing_ttl_seconds=0.2)
    drafts = DraftStore(redis, scripts, ttl_seconds=0.5)
    sweeper = Sweeper(presence, drafts)
    chat = chat_feed(str(uuid.uuid4()))
    await sweeper.start()
    try:
        own_redis.stop()
        async with asyncio.timeout(30):
            while not sweeper.failures:  # noqa: ASYNC110 - the loop meets the outage (another task's state)
                await asyncio.sleep(0.05)
        own_redis.start()
        await presence.announce(chat, ALICE, "tab-1", TYPING, "Alice")
        snapshots = Snapshots(redis, scripts)
        async with asyncio.timeout(30):
            while (await snapshots.read(chat, "acme")).participants:  # noqa: ASYNC110 - polls Redis, bounded
                await asyncio.sleep(0.05)
    finally:
        await sweeper.stop()
        await redis.aclose()
